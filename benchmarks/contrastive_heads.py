"""Which head on contrastive's tuned encoder? Several heads on the same tuned encoder, scored on dev rows only.

    python benchmarks/contrastive_heads.py --out bench-out/heads-dev          # sst2, trec, ag_news; ~30 min

For each set and seed, `contrastive` is fitted once at its defaults on the bench's sample of `--shots` per label
(trec with the label descriptions of benchmarks/labels/trec.json, as its bench rows run), and these heads are
read off the same tuned encoder:
- `default`: the method's own head (logistic, C by cross-validation on the examples' log-loss);
- `c1`: logistic at C = 1 (SetFit's head: scikit-learn's default);
- `centroid`: nearest label mean of the examples' embeddings (cosine);
- `centroid+anchor`: the same with the label's name (or description) embedded as one more example;
- `anchor`: the nearest label name alone, on the tuned encoder;
- `head+anchor`: the logistic head fitted on the examples plus each label's name as a row;
- `fused-W`: the default head's logits plus W x the label-name cosines / 0.05 (zero-shot's temperature).
Dev rows: sst2's dev.jsonl; 1,000 rows carved from trec's and ag_news' train.jsonl (`dev_rows`, seed 0), which
also leave the pool the shots are drawn from. No test row is read.

The rule, fixed before the first run: a head replaces `default` only if, against it, its pooled paired interval
(dev rows and seeds resampled) lies above 0 on at least one set and its mean difference is not below 0 on any set.
Per-row hits go to OUT/<set>-<seed>.json, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agileclf.artifact import write_json_atomic
from agileclf.backbones import load_backbone
from agileclf.bench.grid import DatasetSpec
from agileclf.data import LabelSet, read_examples, sample_few_shot
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap
from agileclf.methods import make_method
from agileclf.methods.heads import fit_logistic_head

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LABELS = Path(__file__).resolve().parent / "labels"
FUSED_WEIGHTS = (0.25, 0.5, 1.0)
NAME_TEMPERATURE = 0.05
LABEL_FIELDS = {"massive_en": "intent"}  # as benchmarks/setfit-comparison.toml reads it


def splits(name: str, dev_rows: int, descriptions: bool = True):
    """(training pool, dev rows, label set) of a shared set, read as the bench's dev grids read it (DatasetSpec);
    with the labels' descriptions from benchmarks/labels/ where that file exists, unless `descriptions` is False."""
    folder, described = DATA / name, LABELS / f"{name}.json"
    carve = 0 if (folder / "dev.jsonl").is_file() else dev_rows
    label_field = LABEL_FIELDS.get(name, "label")
    labels = described if descriptions and described.is_file() else None
    spec = DatasetSpec(folder, dev_rows=carve, labels=labels, label_field=label_field)

    def read(path, text_field, label_field, scored):
        return read_examples(path, text_field=text_field, label_field=label_field)

    train, dev = spec.load_splits(read, "dev")
    return train, dev, LabelSet.from_labels(train.labels, spec.descriptions(train.labels))


def centroids(features: np.ndarray, y: np.ndarray, n_labels: int, extra: np.ndarray | None = None) -> np.ndarray:
    """Each label's mean embedding (with `extra[label]` as one more member), normalised."""
    rows = []
    for label in range(n_labels):
        members = features[y == label]
        if extra is not None:
            members = np.vstack([members, extra[label : label + 1]])
        rows.append(members.mean(axis=0))
    means = np.stack(rows)
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def head_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict[str, list[int]]:
    """Per head: is each dev row right (1/0)?"""
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none")
    method.fit(list(sample.texts), list(sample.labels), label_set=label_set)
    n_labels, y = len(label_set), label_set.encode(list(sample.labels))
    truth = label_set.encode(list(dev.labels))
    tuned = method.backbone
    train_x = tuned.embed(list(sample.texts), normalize=True)
    dev_x = tuned.embed(list(dev.texts), normalize=True)
    names_x = tuned.embed([label_set.describe(label) for label in label_set.names], normalize=True)
    head_logits = dev_x @ method.weight.T + method.bias
    name_logits = dev_x @ names_x.T / NAME_TEMPERATURE
    own = label_set.encode(method.predict(list(dev.texts[:64])))  # a slice: the check need not embed dev twice
    assert (head_logits[:64].argmax(1) == own).mean() > 0.95
    scores = {
        "default": head_logits,
        "c1": _logistic(train_x, y, n_labels, 1.0, seed)(dev_x),
        "centroid": dev_x @ centroids(train_x, y, n_labels).T,
        "centroid+anchor": dev_x @ centroids(train_x, y, n_labels, names_x).T,
        "anchor": name_logits,
        "head+anchor": _logistic(np.vstack([train_x, names_x]), np.r_[y, np.arange(n_labels)], n_labels, None, seed)(
            dev_x
        ),
    }
    scores |= {f"fused-{w}": head_logits + w * name_logits for w in FUSED_WEIGHTS}
    hits = {head: (s.argmax(axis=1) == truth).astype(int).tolist() for head, s in scores.items()}
    hits["_anchors_used"] = [int(method.anchors_used)]
    return hits


def _logistic(features, y, n_labels, c, seed):
    weight, bias, _ = fit_logistic_head(features, y, n_labels, c, seed)
    return lambda x: x @ weight.T + bias


def dev_arguments(
    doc: str, out: str, data: str = "sst2,trec,ag_news", options: dict[str, dict] | None = None
) -> argparse.Namespace:
    """The dev scripts' command line: output folder, sets, seeds, shots, rows carved where there is no dev.jsonl;
    `options` adds a script's own flags (`{"--member": {"default": "contrastive"}}`)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for flag, settings in (options or {}).items():
        parser.add_argument(flag, **settings)
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--data", default=data)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--dev-rows", type=int, default=1000, help="rows carved from train.jsonl without dev.jsonl")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def seed_runs(args: argparse.Namespace, name: str, run, backbone) -> list[dict]:
    """One set's results per seed: `run(name, seed, shots, dev_rows, backbone)` once, kept in OUT/<set>-<seed>.json
    so an interrupted run resumes."""
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        path = args.out / f"{name}-{seed}.json"
        if not path.is_file():
            write_json_atomic(path, run(name, seed, args.shots, args.dev_rows, backbone))
        runs.append(json.loads(path.read_text(encoding="utf-8")))
    return runs


def versus_default(runs: list[dict], variant: str, width: int, against: str = "default") -> str:
    """A variant's dev accuracy over the seeds (mean ± std) and its pooled paired interval against `against`."""
    per_seed = [100 * np.mean(r[variant]) for r in runs]
    spread = f" ± {np.std(per_seed, ddof=1):3.1f}" if len(per_seed) > 1 else " (one seed)"
    line = f"  {variant:{width}s} {np.mean(per_seed):5.1f}{spread}"
    if variant != against:
        diff, low, high = pooled_paired_bootstrap([(r[variant], r[against]) for r in runs])
        line += f"   vs {against} {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
    return line


def print_variants(
    args: argparse.Namespace, run, width: int, describe, backbone_ref: str | None = None
) -> dict[str, list[dict]]:
    """Each set's seeds run (or read back), then every variant's dev accuracy against `default`; `describe(runs)`
    ends the set's heading. `backbone_ref`: the backbone every run gets (None: the bundled encoder). Returns each
    set's runs, for comparisons beyond `default`."""
    backbone = load_backbone(backbone_ref)
    by_set = {}
    for name in args.data.split(","):
        runs = seed_runs(args, name, run, backbone)
        print(
            f"\n{name} ({len(runs[0]['default'])} dev rows, {args.shots} shots, seeds {args.seeds}; {describe(runs)})"
        )
        for variant in [v for v in runs[0] if not v.startswith("_")]:
            print(versus_default(runs, variant, width), flush=True)
        by_set[name] = runs
    return by_set


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/heads-dev")
    print_variants(args, head_hits, 16, lambda runs: f"anchors used: {[r['_anchors_used'][0] for r in runs]}")


if __name__ == "__main__":
    main()
