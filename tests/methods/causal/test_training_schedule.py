"""How many updates the shared causal training loop makes: min_steps, raised by steps_per_label, cut short by a
run of low-loss updates when asked."""

from __future__ import annotations

import pytest

from agileclf.backbones import load_backbone
from agileclf.methods import make_method
from agileclf.methods.causal import training
from agileclf.methods.persistence import load_classifier
from agileclf.methods.training import LowLossStop

QUICK = {"num_virtual_tokens": 4, "prompt_init": "random", "min_steps": 4, "prompt_search": "off"}


@pytest.fixture
def updates_made(monkeypatch) -> dict:
    """Records under "updates" how many updates the next fit's loop makes (it still trains)."""
    seen = {}
    real_run_loop = training.run_loop

    def counting_run_loop(*args, epochs, batches_per_epoch, **kwargs):
        seen["updates"] = epochs * batches_per_epoch
        return real_run_loop(*args, epochs=epochs, batches_per_epoch=batches_per_epoch, **kwargs)

    monkeypatch.setattr(training, "run_loop", counting_run_loop)
    return seen


@pytest.mark.parametrize("per_label, expected", [(0, 4), (3, 12)])
def test_steps_per_label_raises_the_update_floor(tiny_lm, task, updates_made, per_label, expected):
    (texts, labels), _, _ = task
    texts, labels = texts[:16], labels[:16]  # 2 batches of 8 per epoch
    clf = make_method("prompt-tuning", backbone=load_backbone(tiny_lm), steps_per_label=per_label, **QUICK)
    clf.fit(texts, labels)
    assert len(clf.labels) == 4
    assert updates_made["updates"] == expected  # max(min_steps, steps_per_label x labels), in whole epochs of 2


@pytest.mark.parametrize("method", ["lora", "finetune"])
def test_lora_and_finetune_default_to_sixty_updates_and_fifteen_per_label(tiny_lm, task, updates_made, method):
    (texts, labels), _, _ = task
    clf = make_method(method, backbone=load_backbone(tiny_lm), prompt_search="off")
    clf.fit(texts[:16], labels[:16])
    assert clf.config.lr == (1e-3 if method == "lora" else 2e-5)
    assert updates_made["updates"] == 60  # 4 labels: max(60, 15 x 4), 30 epochs of 2 batches
    assert clf.fit_choices()["updates"] == 60  # no early stop by default


@pytest.mark.parametrize("low_loss, expected", [(100.0, 5), (1e-12, 12)])
def test_training_stops_after_a_run_of_low_loss_updates(tiny_lm, task, low_loss, expected, tmp_path):
    (texts, labels), _, _ = task
    clf = make_method(
        "finetune", backbone=load_backbone(tiny_lm), prompt_search="off", min_steps=12, steps_per_label=0,
        stop_after_low_loss=5, low_loss=low_loss,
    )  # fmt: skip
    clf.fit(texts[:16], labels[:16])
    assert clf.fit_choices()["updates"] == expected  # every loss is under 100; none under 1e-12, so all 12 run
    clf.save(tmp_path / "m")
    assert load_classifier(tmp_path / "m", backbone=clf.backbone).fit_choices()["updates"] == expected


def test_low_loss_stop_counts_a_run_in_a_row():
    stop = LowLossStop(threshold=0.01, patience=3)
    assert [stop.should_stop(loss, step) for step, loss in enumerate([0.005, 0.002, 0.5, 0.001, 0.0, 0.003], 1)] == [
        False, False, False, False, False, True,
    ]  # fmt: skip
    assert stop.updates == 6
