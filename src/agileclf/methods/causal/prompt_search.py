"""Choosing the prompt (template, chat template on/off, contextual calibration, and whether the labels' --labels
descriptions replace or join their names) on the training examples only.

A small instruct model is very sensitive to these: SmolLM2-135M answers "positive" to almost every SST-2 sentence
in its chat template with the generic template, and reads the same sentences well as plain text with a sentiment
template (measured on SST-2's dev split, see README). No single setting wins on every task, so with
`prompt_search=auto` a method scores each candidate on its training examples (ICL: each example with the
demonstrations a prediction would give it, itself left out) and keeps the most accurate one (ties: the higher mean
log-probability of the true label). Scoring ICL's candidates on 2 folds that draw their own demonstrations instead
(`search_scoring=folds`, the rule before session 27) chose worse prompts on dev rows (docs/llm.md).
Calibration costs one content-free pass per candidate, so both settings are read from the same scores. Label
descriptions double the candidates: with names as answers, SmolLM2 zero-shot reads TREC's dev rows at 23.0%
(ABBR, DESC, ...), with its labels file's one-word descriptions as the answers at 28.8% (README).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from agileclf.backbones.prompts import BUILTIN_TEMPLATES, description_use
from agileclf.backbones.scoring import contextual_calibration

SEARCH_TEMPLATES = ("classify", "topic", "sentiment")  # 6 candidates with chat on/off: each costs a pass
DEPLOYED = "deployed"  # `folds` value: one clone fitted on every example scores them with its deployed demos


def candidates(config, has_chat: bool, label_set=None) -> list[dict]:
    """The (template, chat_template) pairs tried: the configured template first, then the built-in ones; each
    with the label names and with their descriptions when describe_labels=auto and the labels have some."""
    templates = list(dict.fromkeys([config.template, *SEARCH_TEMPLATES]))
    chats = [True, False] if has_chat and config.chat_template else [False]
    use = description_use(label_set) if label_set is not None and config.describe_labels == "auto" else "off"
    uses = [{}] if use == "off" else [{"describe_labels": use}, {"describe_labels": "off"}]
    return [
        {"template": t, "chat_template": c, **u}
        for u in uses
        for c in chats
        for t in templates
        if t in BUILTIN_TEMPLATES or t == config.template
    ]


def _rank(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    accuracy = float((proba.argmax(axis=1) == y).mean())
    fit = float(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean())
    return accuracy, fit


def search_prompt(
    make: Callable[[dict], object],
    texts: list[str],
    y: np.ndarray,
    label_set,
    folds: int | str,
    seed: int,
    has_chat: bool,
    calibrations: tuple[bool, ...] = (False, True),
    variants: tuple[dict, ...] = ({},),
) -> tuple[dict, list[dict]]:
    """(best overrides, table of every candidate's training accuracy). `make(overrides)` builds an unfitted clone.

    folds=1 scores every training text with a clone fitted on all of them (methods that do not read the
    examples: zero-shot); folds=DEPLOYED fits one clone on all of them and scores the rows its `search_demos`
    gives, each with the demonstrations a prediction would use, itself excluded (ICL); otherwise stratified
    folds, each text scored by a clone that never saw it.
    """
    from sklearn.model_selection import StratifiedKFold

    names = label_set.names
    labels = [names[i] for i in y]
    deployed = folds == DEPLOYED
    if not deployed and folds > 1:
        counts = np.bincount(y, minlength=len(names))
        folds = int(min(folds, counts.min()))
    splits = (
        [(np.arange(len(texts)), np.arange(len(texts)))]
        if deployed or folds < 2
        else list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    )
    probe = make({})
    table = []
    prompts_tried = candidates(probe.config, has_chat, label_set)
    for overrides in [{**prompt, **variant} for variant in variants for prompt in prompts_tried]:
        raw = np.zeros((len(texts), len(names)))
        calibrated = np.zeros_like(raw)
        scored = np.zeros(len(texts), dtype=bool)
        for train_idx, test_idx in splits:
            clone = make(overrides)
            clone.fit([texts[i] for i in train_idx], [labels[i] for i in train_idx], label_set=label_set)
            if deployed:
                rows, demos = clone.search_demos()
                test_idx, held = np.asarray(rows, dtype=np.int64), [texts[i] for i in rows]
            else:
                held = [texts[i] for i in test_idx]
                demos = clone.demos_for(held)
            prompts = [clone.prompt_ids(t, d) for t, d in zip(held, demos, strict=True)]
            scores = clone._score(prompts)
            raw[test_idx], scored[test_idx] = scores, True
            if True in calibrations:
                calibrated[test_idx] = contextual_calibration(scores, clone._content_free_proba(demos))
        for calibrate, proba in ((False, raw), (True, calibrated)):
            if calibrate not in calibrations:
                continue
            accuracy, fit = _rank(proba[scored], y[scored])
            table.append({**overrides, "calibrate": calibrate, "train_accuracy": accuracy, "train_logprob": fit})
    best = max(table, key=lambda row: (row["train_accuracy"], row["train_logprob"]))
    return {k: v for k, v in best.items() if k not in ("train_accuracy", "train_logprob")}, table


def apply(config, overrides: dict):
    """A copy of `config` with the chosen settings and the search switched off (what the artifact records)."""
    return dataclasses.replace(config, **overrides, prompt_search="off")


def clone_as(method_class, backbone, config, overrides: dict):
    """An unfitted `method_class` with the fields of `config` that its own config class has, and the prompt
    `overrides` applied: the search's clone of a method whose config carries more fields than the clone's."""
    names = {f.name for f in dataclasses.fields(method_class.config_class)}
    shared = method_class.config_class(**{k: v for k, v in dataclasses.asdict(config).items() if k in names})
    return method_class(backbone=backbone, config=apply(shared, overrides))
