"""GoEmotions, full training data: multi-label linear-probe, thresholds on dev, the full test set.

Resumable in ≤15-minute pieces on a small machine: `embed` writes each split's MiniLM embeddings to
--cache in chunks (a rerun skips finished chunks), `fit` trains and evaluates from them. The classifier is
agileclf's own (`make_task_method("multilabel", "linear-probe")`), fed by a backbone that reads the cache, so
the numbers are what `agileclf train ... --task multilabel --valid dev.jsonl` gives, minus re-embedding.

    python benchmarks/goemotions_full.py embed --data ../shared/data/goemotions --cache runs/ge-cache
    python benchmarks/goemotions_full.py fit   --data ../shared/data/goemotions --cache runs/ge-cache --out runs/ge
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

CHUNK = 2000


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def splits(data: Path):
    from agileclf.data.multilabel import read_multilabel_examples

    return {
        "train": read_multilabel_examples(data / "train.jsonl"),  # keep-first, as `agileclf train` does
        "dev": read_multilabel_examples(data / "dev.jsonl", on_conflict="keep-all"),
        "test": read_multilabel_examples(data / "test.jsonl", on_conflict="keep-all"),
    }


def embed(data: Path, cache: Path, budget_s: float) -> None:
    from agileclf.backbones import load_backbone

    backbone, start = load_backbone(), time.time()
    cache.mkdir(parents=True, exist_ok=True)
    for name, dataset in splits(data).items():
        for first in range(0, len(dataset), CHUNK):
            path = cache / f"{name}-{first:06d}.npy"
            if path.is_file():
                continue
            if time.time() - start > budget_s:
                print("budget spent; rerun to continue")
                return
            c0 = cpu_s()
            np.save(path, backbone.embed(dataset.texts[first : first + CHUNK], normalize=True))
            print(f"{path.name}: {cpu_s() - c0:.0f} CPU s", flush=True)
    print("all splits embedded")


class CachedBackbone:
    """The bundled MiniLM whose embed() answers from the cache (normalised vectors; the probe normalises)."""

    def __init__(self, backbone, table: dict[str, np.ndarray]):
        self._backbone, self._table = backbone, table

    def __getattr__(self, name):
        return getattr(self._backbone, name)

    def embed(self, texts, batch_size: int = 64, normalize: bool = False) -> np.ndarray:
        return np.vstack([self._table[t] for t in texts]).astype(np.float32)


def fit(data: Path, cache: Path, out: Path, c: float | None) -> None:
    from agileclf.backbones import load_backbone
    from agileclf.evaluate.multilabel import evaluate_multilabel
    from agileclf.methods.registry import make_task_method

    sets, table = splits(data), {}
    for name, dataset in sets.items():
        vectors = np.vstack([np.load(p) for p in sorted(cache.glob(f"{name}-*.npy"))])
        assert len(vectors) == len(dataset), f"{name}: run `embed` until it says all splits embedded"
        table.update(zip(dataset.texts, vectors, strict=True))
    backbone = CachedBackbone(load_backbone(), table)
    params = {"seed": 0} if c is None else {"seed": 0, "c": c}
    clf = make_task_method("multilabel", "linear-probe", backbone, **params)
    train, dev, test = sets["train"], sets["dev"], sets["test"]
    c0, w0 = cpu_s(), time.time()
    clf.fit(train.texts, train.labels, valid=(dev.texts, dev.labels))
    timing = {"fit_cpu_s_from_cached_embeddings": round(cpu_s() - c0, 1), "fit_wall_s": round(time.time() - w0, 1)}
    result = evaluate_multilabel(clf, test.texts, test.labels, report_dir=out)
    result.update(timing, n_train=len(train), n_dev=len(dev), chosen_c=clf.chosen_c)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_label", "chosen_c")}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("embed", "fit"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/goemotions"))
    parser.add_argument("--cache", type=Path, default=Path("runs/ge-cache"))
    parser.add_argument("--out", type=Path, default=Path("runs/ge-full-linear-probe"))
    parser.add_argument("--budget-s", type=float, default=780, help="embed: stop starting chunks after this")
    parser.add_argument("--c", type=float, default=None, help="fit: fixed C (default: chosen by CV per label)")
    args = parser.parse_args()
    from agileclf.progress import set_quiet

    set_quiet(True)
    if args.step == "embed":
        embed(args.data, args.cache, args.budget_s)
    else:
        fit(args.data, args.cache, args.out, args.c)


if __name__ == "__main__":
    main()
