"""Patwa et al.'s diversity figure: unique word trigrams by data size, real vs synthetic, for each synthetic file a
bench run kept (bench-out/.../synthetic/<dataset>-<k>shot-seed<s>.jsonl).

    python benchmarks/patwa_diversity.py bench-out/smollm2-patwa --data ../shared/data

Real rows: as many training rows of the same dataset as there are kept synthetic rows, drawn by seed 0 (the
whole training file is the pool; the few real rows the writer saw are among them). Prints a table per file and
writes diversity.png and diversity.json beside the synthetic files.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from agileclf.artifact import write_json_atomic
from agileclf.data.readers import read_examples
from agileclf.data.sampling import sample_rows
from agileclf.synth.report import plot_diversity, trigram_curve

NAME = re.compile(r"(?P<dataset>.+)-(?P<shots>\d+)shot-seed(?P<seed>\d+)\.jsonl$")


def kept_texts(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows if r.get("kept", True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a bench --out folder with a synthetic/ folder")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder of the datasets")
    parser.add_argument("--points", type=int, default=5, help="data sizes per curve")
    args = parser.parse_args()

    curves, summary = {}, {}
    for path in sorted((args.run / "synthetic").glob("*.jsonl")):
        match = NAME.match(path.name)
        if not match:
            continue  # the .dropped.jsonl files
        synthetic = kept_texts(path)
        train = read_examples(args.data / match["dataset"] / "train.jsonl")
        real = [train.texts[i] for i in sample_rows(len(train), len(synthetic), 0)]
        name = path.stem
        curves[f"{name} real"] = trigram_curve(real, 0, args.points)
        curves[f"{name} synthetic"] = trigram_curve(synthetic, 0, args.points)
        summary[name] = {"real": curves[f"{name} real"], "synthetic": curves[f"{name} synthetic"]}
        print(f"{name}: {len(synthetic)} kept synthetic rows")
        print("| examples | unique trigrams, real | unique trigrams, synthetic |\n|---:|---:|---:|")
        for (n, real_u), (_, syn_u) in zip(curves[f"{name} real"], curves[f"{name} synthetic"], strict=True):
            print(f"| {n} | {real_u} | {syn_u} |")
    if not curves:
        raise SystemExit(f"{args.run / 'synthetic'}: no synthetic files")
    plot_diversity(curves, args.run / "synthetic" / "diversity.png")
    write_json_atomic(args.run / "synthetic" / "diversity.json", summary)
    print(f"wrote {args.run / 'synthetic' / 'diversity.png'}")


if __name__ == "__main__":
    main()
