""" "Suggest examples": new texts per label from the synthetic-data pipeline (agileclf.synth) and a causal LM.

Only offered when the app was started with a causal-LM generator (`--generator DIR`). The suggestions wait in
"what to label next" with their proposed label, for the person to accept, relabel or ignore.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from agileclf.app.errors import Conflict
from agileclf.app.models import PoolText
from agileclf.app.settings import AppSettings
from agileclf.app.store import Store
from agileclf.app.training import training_set
from agileclf.data.readers import Dataset

MAX_PER_CLASS = 20


def check_generator(settings: AppSettings) -> None:
    if settings.generator is None:
        raise Conflict("suggestions need a causal language model: start the app with --generator MODEL_FOLDER")


def suggest_examples(
    store: Store,
    settings: AppSettings,
    classifier_id: int,
    job_id: int,
    params: dict,
    report: Callable[[float, str], None],
) -> int:
    """Generate `per_class` kept texts per label (the pipeline's filters on), add them to the waiting list."""
    from agileclf.synth import FilterSettings
    from agileclf.synth.run import synthesize_with_lm

    check_generator(settings)
    texts, labels, label_set, _ = training_set(store, classifier_id)
    per_class = max(1, min(int(params.get("per_class", 4)), MAX_PER_CLASS))
    filters = FilterSettings(label=bool(params.get("label_filter", True)))
    dataset = Dataset(texts, labels, list(range(1, len(texts) + 1)), f"classifier {classifier_id}")
    out = settings.models_dir / str(classifier_id) / "suggestions" / f"job-{job_id}.jsonl"
    report(0.05, f"writing {per_class} suggestion(s) per label with the language model")
    result = synthesize_with_lm(  # the cheap ICL judge: a person checks every suggestion in Label next anyway
        dataset, settings.load_generator(), out, per_class, seed=settings.seed + job_id, filters=filters, max_rounds=3,
        judge="icl", descriptions={k: v for k, v in label_set.descriptions.items() if k in dataset.classes},
    )  # fmt: skip
    rows = [r for r in _read(out) if r.get("label") in label_set.names]
    with Session(store.engine) as session, session.begin():
        for row in rows:
            session.add(
                PoolText(
                    classifier_id=classifier_id, text=row["text"], suggested_label=row["label"], source="suggested"
                )
            )
    report(1.0, f"{len(rows)} suggestion(s) ready in Label next ({result.stopped})")
    return len(rows)


def _read(path) -> list[dict]:
    import json

    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
