"""Inference cost of the causal-LM methods: ms per example, and K-label scoring versus one prompt pass."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from agileclf.backbones.scoring import left_pad, positions, score_continuations

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data" / "support_train.jsonl"
METHODS = [
    ("zero-shot", {}),
    ("icl k=1", {"demos_per_class": 1}),
    ("icl k=4", {"demos_per_class": 4}),
    ("prompt-tuning", {"min_steps": 1, "num_virtual_tokens": 20}),
    ("lora", {"min_steps": 1}),
]


def method_costs(backbone, texts: list[str], labels: list[str], n: int, seed: int = 0) -> list[dict]:
    """ms per example of predict_proba for each method, on the first `n` texts (fitted on all of them)."""
    from agileclf.methods import make_method

    rows = []
    for title, params in METHODS:
        name = title.split()[0]
        clf = make_method(name, backbone=backbone, seed=seed, **params).fit(texts, labels)
        clf.predict_proba(texts[:2])  # warm-up
        start = time.perf_counter()
        clf.predict_proba(texts[:n])
        seconds = time.perf_counter() - start
        rows.append({"method": title, "ms_per_example": 1000.0 * seconds / n, "n": n})
    return rows


def _median_seconds(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def label_scoring_ratio(backbone, texts: list[str], ks=(2, 5, 10, 20), batch_size: int = 8, repeats: int = 3):
    """Time of exact scoring of K multi-token labels / time of one forward pass over the same prompts."""
    from agileclf.backbones.prompts import BUILTIN_TEMPLATES

    template = BUILTIN_TEMPLATES["classify"]
    model, pad = backbone.model, backbone.tokenizer.pad_token_id
    rows = []
    for k in ks:
        words = [f"category {i} item type" for i in range(k)]
        prompts = [backbone.encode(backbone.render(template.render(t, words))) for t in texts]
        labels = [backbone.encode_continuation(template.answer(w, backbone.uses_chat_template())) for w in words]

        @torch.no_grad()
        def one_pass(prompts=prompts):
            for start in range(0, len(prompts), batch_size):
                ids, mask = left_pad(prompts[start : start + batch_size], pad)
                ids, mask = ids.to(backbone.device), mask.to(backbone.device)
                model(input_ids=ids, attention_mask=mask, position_ids=positions(mask), logits_to_keep=1)

        def scored(prompts=prompts, labels=labels):
            order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # as score_continuations batches
            score_continuations(model, [prompts[i] for i in order], labels, pad, batch_size=batch_size)

        one_pass()
        base = _median_seconds(one_pass, repeats)
        full = _median_seconds(scored, repeats)
        rows.append(
            {
                "K": k,
                "label_tokens": float(np.mean([len(x) for x in labels])),
                "prompt_tokens": float(np.mean([len(p) for p in prompts])),
                "forward_ms_per_example": 1000 * base / len(texts),
                "scoring_ms_per_example": 1000 * full / len(texts),
                "ratio": full / base,
            }
        )
    return rows


def run_cost(backbone_path: str, data: str | None = None, n: int = 32, device: str | None = None) -> dict:
    """Both tables for one causal LM folder; texts from `data` (default: the bundled support tickets)."""
    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples

    backbone = load_backbone(backbone_path, device=device)
    dataset = read_examples(data or DEMO_DATA, "text", "label")
    texts, labels = dataset.texts, dataset.labels
    n = min(n, len(texts))
    return {
        "backbone": str(backbone.path),
        "device": str(backbone.device),
        "dtype": str(backbone.dtype),
        "methods": method_costs(backbone, texts, labels, n),
        "label_scoring": label_scoring_ratio(backbone, texts[:n]),
    }
