"""A soft prompt is trained on exactly what it is scored on: the training loss equals minus the scored log-prob.

Training (LabelLoss on right-padded batches, positions from 0, the soft prompt in front) and scoring (left
padding with explicit position ids, the label trie packed under a 4-D mask, or the KV-cache path) build their
inputs differently; for prompt tuning and IPT, after a short fit, each training example's label loss must equal
minus its scored log-probability on every path, and a right-padded batch of mixed lengths must give the
token-weighted mean of those. Multi-token labels (a verbalizer) exercise the trie and the cache's second pass.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from causal_synthetic import task_split  # noqa: I001

from agileclf.backbones import load_backbone
from agileclf.backbones.scoring import embed_inputs, score_continuations
from agileclf.methods import make_method
from agileclf.methods.causal.training import LabelLoss, collate

WORDS = {"blue": "deep blue sky", "gold": "old gold", "green": "green", "red": "brick red wall"}
SETTINGS = {
    "prompt-tuning": {"num_virtual_tokens": 4, "prompt_init": "vocab"},
    "ipt": {"num_virtual_tokens": 3, "prompt_init": "random", "num_demos": 2},
}


@pytest.fixture(scope="module")
def backbone(other_lm):
    return load_backbone(other_lm)


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def fitted(request, backbone, tmp_path_factory):
    verbalizer = tmp_path_factory.mktemp("words") / "words.json"
    verbalizer.write_text(json.dumps(WORDS))
    (texts, labels), valid = task_split(3, seed=1), task_split(1, seed=3)
    clf = make_method(
        request.param, backbone=backbone, verbalizer=str(verbalizer), label_forms="exact", prompt_search="off",
        min_steps=6, evaluations=1, optimizer="adamw", lr=0.05, **SETTINGS[request.param],
    ).fit(texts, labels, valid=valid)  # fmt: skip
    return clf, texts, labels


def reference_scores(clf, prompts) -> np.ndarray:
    """(n_prompts, n_labels) log-probs from one unpadded forward pass over soft prompt + prompt + label."""
    model, soft = clf.lm, clf.soft_prompt()
    out = np.zeros((len(prompts), len(clf.label_ids)))
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            for k, label in enumerate(clf.label_ids):
                ids = torch.tensor([prompt + label])
                logprobs = torch.log_softmax(model(inputs_embeds=embed_inputs(model, ids, soft)).logits[0], dim=-1)
                start = len(soft) + len(prompt) - 1
                out[i, k] = sum(float(logprobs[start + j, t]) for j, t in enumerate(label))
    return out


def test_labels_are_several_tokens_and_the_prompt_was_trained(fitted):
    clf, _, _ = fitted
    assert sorted(len(ids) for ids in clf.label_ids)[-1] >= 3
    assert clf.soft_prompt() is not None and not clf.soft_prompt().requires_grad


def test_training_loss_is_minus_the_scored_log_prob_on_every_path(fitted):
    clf, texts, labels = fitted
    model, soft, pad = clf.lm, clf.soft_prompt(), clf.backbone.tokenizer.pad_token_id
    demos = clf.train_demos(texts, clf.labels.encode(labels))
    prompts = [clf.prompt_ids(t, d) for t, d in zip(texts, demos, strict=True)]
    assert len({len(p) for p in prompts}) > 1  # the batches below mix lengths
    loss = LabelLoss(model, soft).eval()
    with torch.no_grad():
        trained = np.array(
            [[-float(loss(**collate([(p, label)], pad))) * len(label) for label in clf.label_ids] for p in prompts]
        )
        pairs = [(p, label) for p in prompts for label in clf.label_ids]
        batched = float(loss(**collate(pairs, pad)))
    reference = reference_scores(clf, prompts)
    np.testing.assert_allclose(trained, reference, atol=1e-4)
    tokens = sum(len(label) for _, label in pairs)
    assert batched == pytest.approx(-reference.sum() / tokens, abs=1e-5)
    for strategy in ("packed", "cache"):
        scored = score_continuations(model, prompts, clf.label_ids, pad, soft, batch_size=4, strategy=strategy)
        np.testing.assert_allclose(scored, reference, atol=1e-4, err_msg=strategy)
    # what the classifier predicts is the softmax of those log-probs (the auto path, with its demonstrations)
    demos = clf.demos_for(texts)
    served = [clf.prompt_ids(t, d) for t, d in zip(texts, demos, strict=True)]
    expected = torch.softmax(torch.from_numpy(reference_scores(clf, served)), dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(texts), expected, atol=1e-4)


def test_label_loss_runs_the_lm_head_on_label_positions_only(fitted):
    clf, texts, labels = fitted
    model, pad = clf.lm, clf.backbone.tokenizer.pad_token_id
    demos = clf.train_demos(texts, clf.labels.encode(labels))
    prompts = [clf.prompt_ids(t, d) for t, d in zip(texts, demos, strict=True)]
    batch = collate([(p, clf.label_ids[i % len(clf.label_ids)]) for i, p in enumerate(prompts)], pad)
    widths = []
    head = model.get_output_embeddings()
    hook = head.register_forward_hook(lambda _module, args, _out: widths.append(args[0].shape[1]))
    try:
        with torch.no_grad():
            loss = float(LabelLoss(model).eval()(**batch))
    finally:
        hook.remove()
    predicting = int((batch["labels"][:, 1:] != -100).any(dim=0).sum())
    assert widths == [predicting] and predicting < batch["input_ids"].shape[1] - 1
    with torch.no_grad():  # the model's own loss, with logits at every position, is the same number
        assert loss == pytest.approx(float(model(**batch).loss), abs=1e-5)
