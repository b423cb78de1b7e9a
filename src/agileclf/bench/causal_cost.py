"""Inference cost of the causal-LM methods: ms per example, and K-label scoring versus one prompt pass."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from agileclf.backbones.packed_scoring import build_trie, last_positions
from agileclf.backbones.prompts import BUILTIN_TEMPLATES, verbalizer
from agileclf.backbones.scoring import left_pad, positions, score_continuations
from agileclf.data.labels import LabelSet

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data" / "support_train.jsonl"
METHODS = [
    ("zero-shot", {}),
    ("icl k=1", {"demos_per_class": 1}),
    ("icl k=4", {"demos_per_class": 4}),
    ("prompt-tuning", {"min_steps": 1, "num_virtual_tokens": 20}),
    ("lora", {"min_steps": 1, "steps_per_label": 0}),
]
SYNTHETIC_LABEL = "category {i} item type"  # a long label whose first word all labels share


FIT_SHOTS = 4  # methods are fitted on at most this many examples per label: their cost to time is prediction's


def method_costs(backbone, texts: list[str], labels: list[str], n: int, seed: int = 0) -> list[dict]:
    """ms per example of predict_proba for each method, on the first `n` texts (fitted on a sample of at most
    FIT_SHOTS per label, so a large --data file does not turn the timing into hours of ICL search and training)."""
    from agileclf.data import sample_few_shot
    from agileclf.methods import make_method

    sample = sample_few_shot(labels, FIT_SHOTS, seed).indices
    fit_texts, fit_labels = [texts[i] for i in sample], [labels[i] for i in sample]
    rows = []
    for title, params in METHODS:
        name = title.split()[0]
        clf = make_method(name, backbone=backbone, seed=seed, **params).fit(fit_texts, fit_labels)
        clf.predict_proba(texts[:2])  # warm-up
        start = time.perf_counter()
        clf.predict_proba(texts[:n])
        seconds = time.perf_counter() - start
        row = {"method": title, "ms_per_example": 1000.0 * seconds / n, "n": n}
        rows.append(row | load_seconds(clf))
    return rows


def load_seconds(clf) -> dict:
    """Seconds to load the saved classifier and to answer its first text: the one-time costs that ms/example
    leaves out. A causal backbone loads its weights lazily, so their load falls in the first call."""
    import tempfile

    from agileclf.methods import load_classifier

    with tempfile.TemporaryDirectory() as tmp:
        clf.save(Path(tmp) / "clf")
        start = time.perf_counter()
        loaded = load_classifier(Path(tmp) / "clf", device=str(clf.backbone.device))
        loaded_at = time.perf_counter()
        loaded.predict_proba(["first call"])
        first = time.perf_counter()
    return {"load_s": loaded_at - start, "first_call_s": first - loaded_at}


def _interleaved_timings(fns: dict, repeats: int) -> dict[str, np.ndarray]:
    """Seconds of each function per repeat, timed in turn, so load on a shared machine hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            samples[name].append(time.perf_counter() - start)
    return {name: np.asarray(values) for name, values in samples.items()}


def flops_floor(model, prompt_tokens: float, fed_tokens: int) -> float:
    """The least matmul FLOPs exact scoring needs, over those of one forward pass (attention scores left out).

    A forward pass costs prompt_tokens x body + one LM-head row; exact scoring adds, per fed label token, one
    body pass and one LM-head row (its full-vocabulary softmax denominator). Wall time can beat this ratio
    where the forward pass is memory-bound (a one-row LM head reads the whole vocabulary matrix for little work).
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    head = model.get_output_embeddings().weight
    body = sum(p.numel() for p in model.parameters() if id(p) not in embeddings and p is not head)
    forward = prompt_tokens * body + head.numel()
    return (forward + fed_tokens * (body + head.numel())) / forward


def label_sets(names: list[str], ks: Sequence[int], seed: int = 0) -> dict[str, dict[int, list[str]]]:
    """Label words per set and K: the data's labels (readable names, K drawn by seed) and a synthetic set."""
    words = sorted(verbalizer(LabelSet.from_labels(names)).values())
    real = {k: random.Random(seed + k).sample(words, k) for k in ks if k <= len(words)}
    return {"data labels": real, "synthetic": {k: [SYNTHETIC_LABEL.format(i=i) for i in range(k)] for k in ks}}


def label_scoring_ratio(
    backbone,
    texts: list[str],
    labels: list[str],
    n: int,
    ks: Sequence[int] = (2, 5, 10, 20),
    batch_size: int = 8,
    repeats: int = 5,
    seed: int = 0,
) -> list[dict]:
    """Exact scoring of K multi-token labels vs one forward pass over the first `n` texts, per label set and prompt.

    Prompts: the builtin zero-shot template (it lists the K labels), and an ICL prompt with one demonstration per
    label (a text of that label when the data has one). Scoring is timed on the packed path and on the KV-cache
    fallback; times and ratios are medians over `repeats` interleaved runs.
    """
    template = BUILTIN_TEMPLATES["classify"]
    chat = backbone.uses_chat_template()
    model, pad = backbone.model, backbone.tokenizer.pad_token_id
    rng = random.Random(seed)
    words_of = verbalizer(LabelSet.from_labels(labels))
    by_label = {words_of[name]: [t for t, y in zip(texts, labels, strict=True) if y == name] for name in words_of}
    timed = texts[:n]
    rows = []
    for set_name, drawn in label_sets(labels, ks, seed).items():
        for prompt_kind in ("zero-shot", "icl"):
            for k, words in drawn.items():
                demos = [(rng.choice(by_label.get(w) or texts), w) for w in words] if prompt_kind == "icl" else []
                prompts = [backbone.encode(backbone.render(template.render(t, words, demos))) for t in timed]
                reference = backbone.render(template.render("-", words))  # label tokens as split after the prompt
                label_ids = [backbone.encode_answer(reference, template.answer(w, chat)) for w in words]
                times = _interleaved_timings(
                    {
                        "forward": lambda p=prompts: _forward(model, p, pad, batch_size),
                        "packed": lambda p=prompts, c=label_ids: score_continuations(
                            model, p, c, pad, batch_size=batch_size, strategy="packed"
                        ),
                        "cache": lambda p=prompts, c=label_ids: score_continuations(
                            model, p, c, pad, batch_size=batch_size, strategy="cache"
                        ),
                    },
                    repeats,
                )
                prompt_tokens = float(np.mean([len(p) for p in prompts]))
                fed = build_trie(label_ids).n_nodes
                rows.append(
                    {
                        "labels": set_name,
                        "prompt": prompt_kind,
                        "K": k,
                        "label_tokens": float(np.mean([len(x) for x in label_ids])),
                        "fed_tokens": fed,
                        "prompt_tokens": prompt_tokens,
                        "forward_ms_per_example": 1000 * float(np.median(times["forward"])) / len(timed),
                        "scoring_ms_per_example": 1000 * float(np.median(times["packed"])) / len(timed),
                        # ratios of runs made back to back, then their median: robust to load drifting over time
                        "ratio": float(np.median(times["packed"] / times["forward"])),
                        "cache_ratio": float(np.median(times["cache"] / times["forward"])),
                        "flops_floor": flops_floor(model, prompt_tokens, fed),
                    }
                )
    return rows


@torch.no_grad()
def _forward(model, prompts: list[list[int]], pad: int, batch_size: int) -> None:
    """One forward pass over the prompts, batched and length-sorted as score_continuations does."""
    prompts = sorted(prompts, key=len)
    for start in range(0, len(prompts), batch_size):
        ids, mask = left_pad(prompts[start : start + batch_size], pad)
        ids, mask = ids.to(model.device), mask.to(model.device)
        keep = last_positions(ids.shape[1], 1, ids.device)  # as the scorers keep logits (the faster way)
        model(input_ids=ids, attention_mask=mask, position_ids=positions(mask), logits_to_keep=keep)


def run_cost(
    backbone_path: str,
    data: str | None = None,
    n: int = 32,
    device: str | None = None,
    label_field: str = "label",
    threads: int = 1,
    methods: bool = True,
    repeats: int = 5,
) -> dict:
    """Both tables for one causal LM folder; texts and labels from `data` (default: the bundled support tickets).

    torch runs `threads` CPU threads (default 1: comparable figures on a shared machine).
    """
    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples

    backbone = load_backbone(backbone_path, device=device)
    dataset = read_examples(data or DEMO_DATA, "text", label_field)
    texts, labels = dataset.texts, dataset.labels
    n = min(n, len(texts))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return {
            "backbone": str(backbone.path),
            "device": str(backbone.device),
            "dtype": str(backbone.dtype),
            "threads": threads,
            "methods": method_costs(backbone, texts, labels, n) if methods else [],
            "label_scoring": label_scoring_ratio(backbone, texts, labels, n, repeats=repeats),
        }
    finally:
        torch.set_num_threads(previous)
