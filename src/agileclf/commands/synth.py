"""`agileclf synthesize`: synthetic examples from a local causal LM (agileclf.synth)."""

from __future__ import annotations

from pathlib import Path

import typer

from agileclf.commands.common import LABEL_FIELD, QUIET, TEXT_FIELD, err, out, setup


def synthesize(
    data: Path = typer.Argument(..., help="the few real labelled examples: .jsonl, .csv or .tsv"),
    backbone: str = typer.Option(..., "--backbone", "-b", help="local causal LM folder that writes and judges"),
    per_class: int = typer.Option(..., "--per-class", "-n", help="synthetic examples to keep per class"),
    out_path: Path = typer.Option(..., "--out", "-o", help="JSONL of kept rows (dropped rows: .dropped.jsonl)"),
    shots: int = typer.Option(None, "--shots", "-k", help="sample K real examples per class first (default: all)"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample, prompt shuffles, sampling and the judge"),
    temperature: float = typer.Option(0.7, "--temperature", help="sampling temperature"),
    top_p: float = typer.Option(0.95, "--top-p", help="nucleus sampling mass"),
    max_new_tokens: int = typer.Option(48, "--max-new-tokens", help="tokens generated per example at most"),
    batch_size: int = typer.Option(16, "--batch-size", help="prompts per generate call"),
    task_desc: str = typer.Option("texts", "--task-desc", help="what the examples are, e.g. 'movie reviews'"),
    label_kind: str = typer.Option("label", "--label-kind", help="what a label is, e.g. 'sentiment' or 'intent'"),
    max_rounds: int = typer.Option(10, "--max-rounds", help="rounds of generate + filter at most (this run)"),
    budget: int = typer.Option(0, "--budget", help="candidates generated per class at most (0: 20 x per-class)"),
    oversample: float = typer.Option(2.0, "--oversample", help="candidates per missing example in a round"),
    malformed: bool = typer.Option(True, "--malformed/--no-malformed", help="drop empty texts and prompt echoes"),
    length: bool = typer.Option(True, "--length/--no-length", help="drop texts outside the length bounds"),
    min_length_ratio: float = typer.Option(0.5, "--min-length-ratio", help="x the shortest real example (words)"),
    max_length_ratio: float = typer.Option(2.0, "--max-length-ratio", help="x the longest real example (words)"),
    duplicate: bool = typer.Option(True, "--dedupe/--no-dedupe", help="drop exact and near duplicates"),
    near_duplicate: float = typer.Option(0.8, "--near-duplicate", help="word-set Jaccard that counts as a copy"),
    label_filter: bool = typer.Option(True, "--label-filter/--no-label-filter", help="drop texts --judge labels else"),
    judge: str = typer.Option("lora", "--judge", help="label filter's classifier: lora, icl or zero-shot (same LM)"),
    judge_demos: int = typer.Option(4, "--judge-demos", help="ICL demonstrations per class of the label filter"),
    chat_template: bool = typer.Option(True, "--chat/--no-chat", help="use the tokenizer's chat template if any"),
    examples_per_prompt: int = typer.Option(0, "--examples-per-prompt", help="real examples per prompt (0: all)"),
    verbalizer: str = typer.Option("", "--verbalizer", help="JSON {label: words} for prompts and the judge"),
    labels_file: Path = typer.Option(None, "--labels", help="label descriptions for prompts and the judge (as train)"),
    resume: bool = typer.Option(False, "--resume", help="continue the rows already in --out"),
    report_dir: Path = typer.Option(None, "--report-dir", help="reports folder (default: <out>.report/)"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1, mps (default: best available)"),
    text_field: str = TEXT_FIELD,
    label_field: str = LABEL_FIELD,
    quiet: bool = QUIET,
) -> None:
    """Write synthetic examples per class with a causal LM, filter them, and report what was kept."""
    setup(quiet)
    from agileclf.artifact import check_output_path
    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples, read_label_descriptions, sample_few_shot
    from agileclf.synth import FilterSettings, GenerationSettings
    from agileclf.synth.report import filter_table, write_reports
    from agileclf.synth.run import synthesize_with_lm
    from agileclf.workflow import check_shots

    check_shots(shots)
    check_output_path(out_path, "--out", folder=False)  # before minutes of generation, not after
    check_output_path(report_dir or out_path.with_name(out_path.stem + ".report"), "--report-dir", folder=True)
    dataset = read_examples(data, text_field, label_field, min_classes=2)
    if shots:
        dataset = dataset.subset(sample_few_shot(dataset.labels, shots, seed).indices)
    lm = load_backbone(backbone, device=device)
    generation = GenerationSettings(
        temperature, top_p, max_new_tokens, batch_size, task_desc, label_kind, chat_template, examples_per_prompt
    )  # fmt: skip
    filters = FilterSettings(malformed, length, duplicate, label_filter, min_length_ratio, max_length_ratio,
                             near_duplicate)  # fmt: skip
    err.print(f"synthesizing {per_class} per class for {len(dataset.classes)} classes from {len(dataset)} examples")
    result = synthesize_with_lm(
        dataset, lm, out_path, per_class, seed, generation, filters, judge_demos, max_rounds, budget, oversample,
        resume, verbalizer, judge, read_label_descriptions(labels_file) if labels_file else None,
    )  # fmt: skip
    kept = read_examples(out_path, "text", "label") if out_path.is_file() and out_path.stat().st_size else None
    paths = write_reports(
        result, dataset.texts, dataset.labels, kept.texts if kept else [], kept.labels if kept else [],
        report_dir or out_path.with_name(out_path.stem + ".report"), seed,
    )  # fmt: skip
    plain = {"soft_wrap": True, "markup": False, "highlight": False}  # labels may hold [brackets]
    out.print(filter_table(result), **plain)
    (err.print if result.complete else out.print)(f"{'done' if result.complete else 'note'}: {result.stopped}", **plain)
    err.print(f"rows in {out_path}; reports in {paths['filters'].parent}")
