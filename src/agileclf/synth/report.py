"""Reports of a synthesis run: the per-class filter table, unique word trigrams vs examples (real and synthetic,
a PNG), and the most distinctive words of each class in real vs synthetic text."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agileclf.artifact import write_json_atomic, write_text_atomic
from agileclf.synth.filters import words
from agileclf.synth.pipeline import COUNTS, SynthesisResult


def filter_table(result: SynthesisResult) -> str:
    """Markdown: per class, generated, dropped by each filter, surplus and kept (with a total row)."""
    head = ["class", *COUNTS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    totals = dict.fromkeys(COUNTS, 0)
    for label, counts in sorted(result.counts.items()):
        lines.append("| " + " | ".join([label, *(str(counts[k]) for k in COUNTS)]) + " |")
        for key in COUNTS:
            totals[key] += counts[key]
    lines.append("| " + " | ".join(["**all**", *(str(totals[k]) for k in COUNTS)]) + " |")
    return "\n".join(lines)


def trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def trigram_curve(texts: Sequence[str], seed: int = 0, points: int = 20) -> list[tuple[int, int]]:
    """(n examples, unique word trigrams among them) at up to `points` sizes, examples in seeded random order."""
    order = np.random.Generator(np.random.PCG64(seed)).permutation(len(texts))
    sizes = sorted({max(1, round(len(texts) * (i + 1) / points)) for i in range(points)}) if texts else []
    seen: set[tuple[str, ...]] = set()
    curve, done = [], 0
    for size in sizes:
        for i in order[done:size]:
            seen |= trigrams(texts[i])
        done = size
        curve.append((size, len(seen)))
    return curve


def plot_diversity(curves: dict[str, list[tuple[int, int]]], path: Path) -> Path:
    """Line plot of unique trigrams vs number of examples, one line per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        if curve:
            ax.plot([n for n, _ in curve], [u for _, u in curve], marker="o", markersize=3, label=name)
    ax.set_xlabel("number of examples")
    ax.set_ylabel("unique word trigrams")
    ax.set_title("Diversity: unique word trigrams vs examples")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def distinctive_words(a: Sequence[str], b: Sequence[str], top: int = 8) -> tuple[list[str], list[str]]:
    """Words most typical of `a` vs `b` and of `b` vs `a`: smoothed log-odds ratio (add-one), frequent first on
    ties; written by hand as it is three lines of counting."""
    count_a, count_b = Counter(w for t in a for w in words(t)), Counter(w for t in b for w in words(t))
    total_a, total_b = sum(count_a.values()) + 1, sum(count_b.values()) + 1
    vocab = set(count_a) | set(count_b)
    score = {w: math.log((count_a[w] + 1) / total_a) - math.log((count_b[w] + 1) / total_b) for w in vocab}
    ranked = sorted(vocab, key=lambda w: (-score[w], -count_a[w], w))
    flipped = sorted(vocab, key=lambda w: (score[w], -count_b[w], w))
    return [w for w in ranked if count_a[w]][:top], [w for w in flipped if count_b[w]][:top]


def write_reports(
    result: SynthesisResult,
    real_texts: Sequence[str],
    real_labels: Sequence[str],
    syn_texts: Sequence[str],
    syn_labels: Sequence[str],
    out_dir: str | Path,
    seed: int = 0,
) -> dict[str, Path]:
    """filters.md, diversity.png, diversity.json and words.md under `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = {"real": trigram_curve(real_texts, seed), "synthetic": trigram_curve(syn_texts, seed)}
    paths = {
        "filters": out_dir / "filters.md",
        "plot": plot_diversity(curves, out_dir / "diversity.png"),
        "diversity": out_dir / "diversity.json",
        "words": out_dir / "words.md",
    }
    write_text_atomic(paths["filters"], f"# Synthesis filter report\n\n{filter_table(result)}\n\n{result.stopped}\n")
    write_json_atomic(paths["diversity"], {k: [list(p) for p in v] for k, v in curves.items()})
    lines = ["# Distinctive words per class (real vs synthetic)", "", "| class | real | synthetic |", "|---|---|---|"]
    for label in sorted(set(real_labels)):
        real = [t for t, y in zip(real_texts, real_labels, strict=True) if y == label]
        syn = [t for t, y in zip(syn_texts, syn_labels, strict=True) if y == label]
        of_real, of_syn = distinctive_words(real, syn)
        lines.append(f"| {label} | {', '.join(of_real)} | {', '.join(of_syn) or '(none kept)'} |")
    write_text_atomic(paths["words"], "\n".join(lines) + "\n")
    return paths
