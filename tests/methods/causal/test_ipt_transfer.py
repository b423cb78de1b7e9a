"""IPT with random demonstrations (Sun et al.'s control) and prompt transfer (a saved soft prompt starts another)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.artifact import read_weights
from agileclf.backbones import load_backbone
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier

QUICK = {"num_virtual_tokens": 8, "prompt_init": "random", "min_steps": 4, "prompt_search": "off"}


@pytest.fixture(scope="module")
def backbone(tiny_lm):
    return load_backbone(tiny_lm)


def test_random_demonstrations_are_fixed_per_input_never_the_example_itself_and_saved(backbone, task, tmp_path):
    (texts, labels), _, test = task
    clf = make_method("ipt", backbone=backbone, demo_selection="random", num_demos=2, **QUICK)
    clf.fit(texts, labels)
    assert clf.pool_vectors.shape == (len(texts), 0)  # no retriever is loaded for random demonstrations
    train_demos = clf.train_demos(texts, np.asarray(labels))
    for text, demos in zip(texts, train_demos, strict=True):
        assert len(demos) == 2 and text not in [t for t, _ in demos]
    first, again = clf.demos_for(test[0][:6]), clf.demos_for(test[0][:6])
    assert first == again
    assert len({tuple(t for t, _ in d) for d in first}) > 1  # drawn per input, not one draw for all
    clf.save(tmp_path / "ipt-random")
    reloaded = load_classifier(tmp_path / "ipt-random")
    np.testing.assert_array_equal(reloaded.predict_proba(test[0][:8]), clf.predict_proba(test[0][:8]))


def test_a_bad_demo_selection_is_refused(backbone):
    with pytest.raises((ValueError, ConfigError), match="demo_selection"):
        make_method("ipt", backbone=backbone, demo_selection="nearest")


def test_a_saved_soft_prompt_starts_prompt_tuning_on_another_task(backbone, task, tmp_path):
    (texts, labels), _, _ = task
    source = make_method("prompt-tuning", backbone=backbone, **QUICK).fit(texts, labels)
    source.save(tmp_path / "source")
    saved = read_weights(tmp_path / "source")["prompt_embeddings"]
    other_labels = ["even" if i % 2 else "odd" for i in range(len(texts))]  # another task, other label names
    for method in ("prompt-tuning", "ipt"):
        target = make_method(method, backbone=backbone, init_from=str(tmp_path / "source"), **QUICK)
        captured = {}
        real = target._initial_prompt

        def capture(real=real, captured=captured):
            prompt = real()
            captured["prompt"] = prompt.clone()  # training then updates the returned tensor in place
            return prompt

        target._initial_prompt = capture
        target.fit(texts, other_labels)
        assert torch.equal(captured["prompt"].cpu(), saved.cpu()), method


def test_prompt_transfer_from_a_model_without_a_soft_prompt_or_of_another_width_is_a_clear_error(
    backbone, task, tmp_path, other_lm
):
    (texts, labels), _, _ = task
    make_method("zero-shot", backbone=backbone, prompt_search="off").fit(texts, labels).save(tmp_path / "zs")
    with pytest.raises(ConfigError, match="holds no soft prompt"):
        make_method("prompt-tuning", backbone=backbone, init_from=str(tmp_path / "zs"), **QUICK).fit(texts, labels)
    make_method("prompt-tuning", backbone=backbone, **QUICK).fit(texts, labels).save(tmp_path / "pt")
    small = load_backbone(other_lm)
    with pytest.raises(ConfigError, match="embeddings are 32 wide"):
        make_method("prompt-tuning", backbone=small, init_from=str(tmp_path / "pt"), **QUICK).fit(texts, labels)
