"""Synthesis with one local causal LM as writer and judge: what the `synthesize` command and the bench share."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from agileclf.backbones.prompts import label_texts
from agileclf.data import Dataset, LabelSet
from agileclf.errors import ConfigError, DataError
from agileclf.params import literal
from agileclf.synth.filters import FilterSettings
from agileclf.synth.generate import GenerationSettings, LMGenerator
from agileclf.synth.pipeline import SynthesisResult, synthesize

LOOP_KEYS = ("judge", "judge_demos", "max_rounds", "budget", "oversample", "verbalizer")
# Causal-LM methods that can label candidates. lora by default: fitted on a 4-per-class sample with SmolLM2-135M,
# it labelled 300 held-out training-pool rows right 68.3% (SST-2) and 68.7% (TREC) of the time, where icl (Patwa
# et al.'s judge) scored 53.7% (294 of 300 "positive") and 48.0%, and zero-shot 67.7% and 42.0%
JUDGES = ("icl", "zero-shot", "lora")


def synthesize_with_lm(
    dataset: Dataset,
    lm,
    out_path: str | Path,
    per_class: int,
    seed: int = 0,
    generation: GenerationSettings = GenerationSettings(),
    filters: FilterSettings = FilterSettings(),
    judge_demos: int = 4,
    max_rounds: int = 10,
    budget: int = 0,
    oversample: float = 2.0,
    resume: bool = False,
    verbalizer: str = "",
    judge: str = "lora",
    descriptions: dict[str, str] | None = None,
) -> SynthesisResult:
    """Generate with `lm` and, when the label filter is on, label each candidate with a `judge` fitted on the real
    examples with the same LM: `lora` (trained on the real examples), `icl` (`judge_demos` real demonstrations per
    class, balanced, in seeded random order; the papers' judge) or `zero-shot`. `verbalizer` (a JSON file {label:
    words}) gives the words the generation prompt and the judge use for a label whose name is a code (TREC's ENTY);
    `descriptions` ({label: description}, as `--labels`) serve both as in the causal methods (describe_labels=auto:
    a short one is the label's words, a longer one follows its name in brackets)."""
    if getattr(lm, "kind", None) != "causal-lm":
        raise ConfigError(f"synthesis needs a causal-LM backbone, not {getattr(lm, 'kind', type(lm).__name__)}")
    if judge not in JUDGES:
        raise ConfigError(f"the judge is one of {', '.join(JUDGES)}, not {judge!r}")
    unknown = sorted(set(descriptions or {}) - set(dataset.classes))
    if unknown:
        raise DataError(f"descriptions given for labels with no examples in {dataset.path}: {', '.join(unknown)}")
    label_set = LabelSet.from_labels(dataset.classes, descriptions)
    words = None
    if verbalizer or label_set.descriptions:
        _, listing = label_texts(label_set, verbalizer, "auto")
        words = dict(zip(label_set.names, listing, strict=True))
    classifier = None
    if filters.label:
        from agileclf.methods import make_method

        params = {"seed": seed, "chat_template": generation.chat_template, "verbalizer": verbalizer}
        if judge == "icl":
            params["demos_per_class"] = judge_demos
        classifier = make_method(judge, backbone=lm, **params).fit(dataset.texts, dataset.labels, label_set=label_set)
    return synthesize(
        dataset, out_path, per_class, LMGenerator(lm, generation), classifier, generation, filters, max_rounds, budget,
        oversample, seed, resume, label_words=words,
    )  # fmt: skip


def settings_from(params: dict) -> dict:
    """Keyword arguments of `synthesize_with_lm` from flat key=value pairs (strings read as JSON literals), e.g.
    {"temperature": "0.7", "label": "false", "max_rounds": "3"}."""
    generation_keys = {f.name for f in fields(GenerationSettings)}
    filter_keys = {f.name for f in fields(FilterSettings)}
    unknown = set(params) - generation_keys - filter_keys - set(LOOP_KEYS)
    if unknown:
        known = sorted(generation_keys | filter_keys | set(LOOP_KEYS))
        raise ConfigError(f"unknown synthesis setting(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    values = {k: literal(v) for k, v in params.items()}
    return {
        "generation": GenerationSettings(**{k: v for k, v in values.items() if k in generation_keys}),
        "filters": FilterSettings(**{k: v for k, v in values.items() if k in filter_keys}),
        **{k: v for k, v in values.items() if k in LOOP_KEYS},
    }
