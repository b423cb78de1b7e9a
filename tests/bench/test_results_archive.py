"""The archived bench outputs in benchmarks/results/ reproduce the figures of the README and docs/ from their
per-row predictions."""

import functools
import json
from pathlib import Path

import pytest

from agileclf.bench.runner import read_predictions, read_results
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "benchmarks" / "results"
# seeds per dev archive, where not 5
DEV_SEEDS = {"synth-temperature-dev": 3, "fold-reuse-dev": 3, "fold-soup-dev": 3, "passes-dev": 3, "frozen1-dev-64": 3}


@functools.cache
def documented_text() -> str:
    """The README and the measurement pages in docs/, every run of whitespace made one space (a figure may wrap
    across lines)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return " ".join(" ".join(page.read_text(encoding="utf-8").split()) for page in pages)


def interval_text(pairs) -> str:
    """The pooled paired difference of (hits, hits) pairs, formatted as the docs write it."""
    mean, low, high = pooled_paired_bootstrap(pairs)
    return f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def pooled(run: str, dataset: str, method: str, against: str) -> str:
    """`method` minus `against` over the seeds both ran, formatted as the docs write it."""
    cells = {(d, m, seed): row["correct"] for (d, m, _, seed), row in read_predictions(ARCHIVE / run).items()}
    pairs = [
        (hits, cells[(dataset, against, s)]) for (d, m, s), hits in sorted(cells.items()) if (d, m) == (dataset, method)
    ]
    return interval_text(pairs)


@pytest.mark.parametrize(
    ("run", "dataset", "method", "against"),
    [
        ("setfit-zero-stop22", "sst2", "auto", "setfit"),
        ("setfit-zero-stop22", "ag_news", "auto", "setfit"),
        ("setfit-massive42", "massive_en", "auto", "setfit"),
        ("static-tier40", "trec", "static", "contrastive"),
        ("static-tier40", "ag_news", "static:bulk", "contrastive"),
        ("static-tier40", "sst2", "static:bulk", "setfit"),
        ("lr-dev", "ag_news", "contrastive:lr5e-5", "contrastive"),
        ("warmup-dev", "sst2", "contrastive:warmup0", "contrastive"),
        ("warmup-dev", "ag_news", "contrastive:warmup0", "contrastive"),
        ("bf16-dev", "sst2", "contrastive:bf16", "contrastive"),
        ("bf16-dev", "ag_news", "contrastive:bf16", "contrastive"),
        ("bf16-dev", "trec", "contrastive:bf16", "contrastive"),
        ("bf16-64-dev", "trec", "contrastive:bf16", "contrastive"),
        ("bf16-sst2-8", "sst2", "auto", "setfit"),
        ("frozen-sst2-8", "sst2", "auto", "setfit"),
        ("frozen-sst2-8", "sst2", "auto:embeddings", "setfit"),
        ("buckets-dev", "sst2", "contrastive:buckets2", "contrastive"),
        ("buckets-dev", "ag_news", "contrastive:buckets2", "contrastive"),
        ("buckets-dev", "trec", "contrastive:buckets2", "contrastive"),
        ("buckets-dev", "sst2", "contrastive:buckets4", "contrastive"),
        ("buckets-dev", "ag_news", "contrastive:buckets4", "contrastive"),
        ("buckets-dev", "trec", "contrastive:buckets4", "contrastive"),
        ("sst2-8-buckets", "sst2", "auto:buckets2", "setfit"),
        ("sst2-8-buckets", "sst2", "auto:buckets2", "auto"),
        ("frozen-trec64", "trec", "auto", "setfit"),
        ("lora-targets-dev", "trec", "lora:all-linear", "lora"),
        ("icl-search-dev", "ag_news", "icl:deployed", "icl"),
        ("icl-draws-dev", "sst2", "icl:draws3", "icl:deployed"),
        ("smollm2-icl-8shot", "ag_news", "icl", "zero-shot"),
        ("smollm2-8shot-lora", "trec", "lora", "setfit"),
        ("smollm2-8shot-lora", "sst2", "lora", "setfit"),
        ("smollm2-8shot-lora", "ag_news", "lora", "setfit"),
        ("smollm2-8shot-finetune", "trec", "finetune:lr2e-5", "setfit"),
        ("smollm2-8shot-finetune", "trec", "finetune:lr2e-5", "lora"),
        ("smollm2-8shot-finetune", "ag_news", "finetune:lr2e-5", "setfit"),
        ("smollm2-8shot-finetune", "ag_news", "finetune:lr2e-5", "lora"),
        ("smollm2-8shot-finetune", "sst2", "finetune:lr2e-5", "setfit"),
        ("smollm2-8shot-finetune", "sst2", "finetune:lr2e-5", "lora"),
        ("smollm2-8shot-ensemble", "trec", "ensemble", "setfit"),
        ("smollm2-8shot-ensemble", "trec", "ensemble", "finetune:lr2e-5"),
        ("smollm2-8shot-ensemble", "ag_news", "ensemble", "setfit"),
        ("smollm2-8shot-ensemble", "sst2", "ensemble", "setfit"),
        ("smollm2-8shot-ensemble-full", "ag_news", "ensemble", "setfit"),
        ("smollm2-8shot-ensemble-full", "sst2", "ensemble", "setfit"),
        ("smollm2-8shot-finetune-full", "ag_news", "finetune", "setfit"),
        ("smollm2-8shot-finetune-full", "sst2", "finetune", "setfit"),
        ("gemma3-8shot", "sst2", "icl:gemma", "zero-shot:gemma"),
        ("gemma3-8shot", "trec", "icl:gemma", "zero-shot:gemma"),
        ("gemma3-8shot", "ag_news", "icl:gemma", "zero-shot:gemma"),
    ],
)
def test_the_docs_quote_the_archived_interval(run, dataset, method, against):
    figure = pooled(run, dataset, method, against)
    assert figure in documented_text(), f"{run}: {dataset} {method} - {against} {figure}"


@pytest.mark.parametrize(
    ("run", "dataset", "variant", "against"),
    [
        ("lora-soup-dev", "trec", "soup", "default"),
        ("lora-lr-dev", "trec", "half-lr", "default"),
        ("finetune-dev", "trec", "finetune:lr2e-5", "default"),
        ("finetune-dev", "trec", "finetune:lr2e-5", "finetune"),
        ("finetune-dev", "ag_news", "finetune:lr2e-5", "default"),
        ("finetune-dev", "sst2", "finetune:lr2e-5", "default"),
        ("finetune-dev", "sst2", "finetune:lr2e-5", "finetune"),
        ("finetune-dev", "ag_news", "finetune:lr2e-5", "finetune"),
        ("finetune-dev", "trec", "finetune:stop8", "finetune:lr2e-5"),
        ("finetune-dev", "sst2", "finetune:stop8", "finetune:lr2e-5"),
        ("finetune-dev", "trec", "finetune:spl30", "finetune:lr2e-5"),
        ("ensemble-dev", "trec", "mean", "default"),
        ("ensemble-dev", "ag_news", "mean", "default"),
        ("ensemble-dev", "sst2", "mean", "default"),
        ("ensemble-dev", "trec", "mean", "contrastive"),
        ("causal-pair-dev", "ag_news", "mean", "default"),
        ("causal-pair-dev", "ag_news", "mean", "lora"),
        ("synth-temperature-dev", "sst2", "t0.7", "t1"),
        ("synth-temperature-dev", "trec", "t0.7", "t1"),
        ("synth-temperature-dev", "ag_news", "t0.7", "t1"),
        ("synth-temperature-dev", "trec", "real", "t0.7"),
        ("synth-temperature-dev", "ag_news", "real", "t0.7"),
        ("synth-temperature-dev", "ag_news", "real", "t1"),
        ("synth-temperature-dev", "sst2", "real", "t0.7-lora"),
        ("synth-temperature-dev", "trec", "real", "t0.7-lora"),
        ("synth-temperature-dev", "ag_news", "real", "t0.7-lora"),
        ("fold-reuse-dev", "trec", "fold-reuse", "default"),
        ("fold-reuse-dev", "sst2", "fold-reuse", "default"),
        ("fold-reuse-dev", "ag_news", "fold-reuse", "default"),
        ("fold-soup-dev", "sst2", "soup", "default"),
        ("fold-soup-dev", "trec", "soup", "default"),
        ("fold-soup-dev", "ag_news", "soup", "default"),
        ("fold-soup-dev", "ag_news", "fold-ensemble", "default"),
        ("passes-dev", "trec", "passes20", "default"),
        ("passes-dev", "ag_news", "passes20", "default"),
        ("frozen1-dev", "sst2", "frozen-1", "default"),
        ("frozen1-dev", "trec", "frozen-1", "default"),
        ("frozen1-dev", "ag_news", "frozen-1", "default"),
        ("frozen1-dev-64", "sst2", "frozen-1", "default"),
        ("frozen1-dev-64", "trec", "frozen-1", "default"),
    ],
)
def test_the_docs_quote_the_dev_script_interval(run, dataset, variant, against):
    """The dev scripts' archives (benchmarks/*_dev.py: per-row hits of every variant, one JSON per seed)."""
    seeds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((ARCHIVE / run).glob(f"{dataset}-*.json"))]
    assert len(seeds) == DEV_SEEDS.get(run, 5)
    figure = interval_text([(hits[variant], hits[against]) for hits in seeds])
    assert figure in documented_text(), f"{run}: {dataset} {variant} {figure}"


def test_every_archived_run_is_readable_and_paired():
    runs = sorted(p.parent for p in ARCHIVE.glob("*/results.jsonl"))
    assert runs
    for run in runs:
        rows, predictions = read_results(run), read_predictions(run)
        keys = {(r["dataset"], r["method"], r["shots"], r["seed"]) for r in rows if "error" not in r}
        assert keys and keys <= set(predictions), run.name


def test_the_docs_quote_the_archived_speed_ratios():
    """`agileclf speed` outputs (one JSON per test set) against docs/prediction-speed.md's onnx-int8 vs SetFit cells."""
    outputs = sorted((ARCHIVE / "speed-session29").glob("*.json"))
    assert len(outputs) == 4
    docs = documented_text()
    for path in outputs:
        fast = json.loads(path.read_text(encoding="utf-8"))["onnx-int8"]
        figure = f"**{fast['speedup_vs_setfit_wall']:.2f}x / {fast['speedup_vs_setfit_cpu']:.2f}x**"
        assert figure in docs, f"{path.name}: {figure}"


def test_the_docs_quote_the_raced_contests_fit_seconds():
    """Session 41's racing cells (docs/setfit-comparison.md, "Racing the contest") and session 42's refit=head
    cells: the same test accuracy with and without the race on trec, and the fit CPU seconds the page quotes."""
    cells = {
        (run, r["method"]): r
        for run in ("race41-trec64-base", "race41-trec64-race", "race41-sst2-64-race", "race41-agnews64-race")
        for r in read_results(ARCHIVE / run)
    }
    base, raced = cells[("race41-trec64-base", "auto")], cells[("race41-trec64-race", "auto")]
    assert base["accuracy"] == raced["accuracy"] and "other folds were not run" in raced["auto_reason"]
    head = {(run, r["method"]): r for run in ("head42-trec64", "head42-sst2-64") for r in read_results(ARCHIVE / run)}
    assert all("refit=head" in r["auto_reason"] for (_, method), r in head.items() if method == "auto")
    docs = documented_text()
    for row in [*cells.values(), *head.values()]:
        assert f"{row['fit_cpu_s']:,.0f}" in docs, (row["method"], row["fit_cpu_s"])
