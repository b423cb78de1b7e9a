"""Every agileclf method against every peer on the same samples and test rows, with paired bootstrap intervals.

Per cell (one seed: both fitted on that seed's sample) and pooled over the seeds both ran. A claimed win is one
whose 95% interval lies above 0; a loss, below; anything else is no clear difference.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from agileclf.evaluate.bootstrap import paired_bootstrap, pooled_paired_bootstrap

COMPARISONS_FILE = "comparisons.json"
N_RESAMPLES = 10000


def verdict(low: float, high: float) -> str:
    return "win" if low > 0 else "loss" if high < 0 else "no clear difference"


def compare_with_peers(rows: list[dict], predictions: dict[tuple, dict], n_resamples: int = N_RESAMPLES) -> list[dict]:
    """One entry per (dataset, shots, method, peer) on their common seeds: mean accuracy difference (method -
    peer), its pooled interval, one interval per seed, and fit / predict speed-ups (peer seconds over ours)."""
    cells: dict[tuple, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        if "error" not in row:
            cells[(row["dataset"], row["shots"])][(row["method"], row["peer"])][row["seed"]] = row
    out = []
    for (dataset, shots), by_name in sorted(cells.items()):
        peers = sorted(name for name, peer in by_name if peer)
        methods = sorted(name for name, peer in by_name if not peer)
        for peer in peers:
            theirs_by_seed = by_name[(peer, True)]
            for method in methods:
                mine_by_seed = by_name[(method, False)]
                seeds = sorted(set(mine_by_seed) & set(theirs_by_seed))
                if not seeds:
                    continue
                mine = [mine_by_seed[s] for s in seeds]
                theirs = [theirs_by_seed[s] for s in seeds]
                entry = {
                    "dataset": dataset,
                    "shots": shots,
                    "method": method,
                    "peer": peer,
                    "seeds": seeds,
                    "accuracy": _mean(mine, "accuracy"),
                    "accuracy_std": _std(mine),
                    "peer_accuracy": _mean(theirs, "accuracy"),
                    "peer_accuracy_std": _std(theirs),
                    "difference": _mean(mine, "accuracy") - _mean(theirs, "accuracy"),
                    "fit_speedup": _mean(theirs, "fit_s") / max(_mean(mine, "fit_s"), 1e-9),
                    "fit_cpu_speedup": _ratio(theirs, mine, "fit_cpu_s"),
                    "predict_speedup": _mean(theirs, "predict_ms") / max(_mean(mine, "predict_ms"), 1e-9),
                    "per_seed": [],
                }
                pairs = []
                for seed in seeds:
                    a = predictions.get((dataset, method, shots, seed))
                    b = predictions.get((dataset, peer, shots, seed))
                    if a is None or b is None or a["test_sha256"] != b["test_sha256"]:
                        continue
                    pairs.append((a["correct"], b["correct"]))
                    diff, low, high = paired_bootstrap(a["correct"], b["correct"], n_resamples, seed=seed)
                    entry["per_seed"].append({"seed": seed, "difference": diff, "low": low, "high": high})
                if pairs:
                    diff, low, high = pooled_paired_bootstrap(pairs, n_resamples, seed=0)
                    entry.update(pooled_seeds=len(pairs), low=low, high=high, verdict=verdict(low, high))
                out.append(entry)
    return out


def write_comparisons(comparisons: list[dict], path: Path) -> None:
    from agileclf.artifact import write_text_atomic

    write_text_atomic(path, json.dumps(comparisons, indent=1) + "\n")


def _interval(entry: dict) -> str:
    if "low" not in entry:
        return "– (no predictions stored)"
    return f"[{100 * entry['low']:+.1f}, {100 * entry['high']:+.1f}]"


def comparison_lines(comparisons: list[dict]) -> list[str]:
    """Markdown: the pooled table, then the per-seed intervals; empty without peers."""
    if not comparisons:
        return []
    lines = [
        "",
        "Every agileclf method against each peer on the seeds both ran: accuracy % (mean ± std over seeds), the "
        "difference in points with its paired bootstrap 95% interval (the same test rows resampled for both, "
        "seeds resampled too), and the verdict: a win only when the interval lies above 0. Speed-ups are the "
        "peer's seconds over ours (above 1x agileclf is faster).",
        "",
        "| dataset | shots | method | accuracy | peer | peer accuracy | difference | 95% interval | verdict | seeds "
        "| fit speed-up (wall; CPU) | predict speed-up |",
        "|---|---:|---|---:|---|---:|---:|---|---|---:|---:|---:|",
    ]
    for e in comparisons:
        lines.append(
            f"| {e['dataset']} | {e['shots']} | {e['method']} | {_pct(e['accuracy'], e['accuracy_std'])} | "
            f"{e['peer']} (peer) | {_pct(e['peer_accuracy'], e['peer_accuracy_std'])} | "
            f"{100 * e['difference']:+.1f} | {_interval(e)} | {e.get('verdict', '–')} | {len(e['seeds'])} | "
            f"{e['fit_speedup']:.1f}x; {_times(e.get('fit_cpu_speedup'))} | {e['predict_speedup']:.2f}x |"
        )
    per_seed = [(e, s) for e in comparisons for s in e["per_seed"]]
    if per_seed:
        lines += ["", "Per cell (one seed): difference in points and its paired bootstrap 95% interval.", ""]
        lines.append("| dataset | shots | seed | method | peer | difference | 95% interval | verdict |")
        lines.append("|---|---:|---:|---|---|---:|---|---|")
        for e, s in per_seed:
            lines.append(
                f"| {e['dataset']} | {e['shots']} | {s['seed']} | {e['method']} | {e['peer']} | "
                f"{100 * s['difference']:+.1f} | {_interval(s)} | {verdict(s['low'], s['high'])} |"
            )
    return lines


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}x"


def _pct(mean: float, std: float) -> str:
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def _ratio(theirs: list[dict], mine: list[dict], key: str) -> float | None:
    if not all(key in r for r in [*theirs, *mine]):
        return None
    return _mean(theirs, key) / max(_mean(mine, key), 1e-9)


def _mean(members: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in members]))


def _std(members: list[dict]) -> float:
    return float(np.std([r["accuracy"] for r in members], ddof=1)) if len(members) > 1 else 0.0
