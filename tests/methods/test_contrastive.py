"""contrastive: in-batch triplet tuning of the encoder (linear cost), a logistic head, save/load, int8 path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.contrastive import ContrastiveConfig, training_steps
from agileclf.methods.multilabel.contrastive import MultiLabelContrastiveConfig
from agileclf.methods.persistence import load_classifier

TEXTS = [
    "i loved this film",
    "a wonderful, moving story",
    "great acting throughout",
    "brilliant and funny",
    "i hated this film",
    "a dull, boring mess",
    "terrible acting throughout",
    "a complete waste of time",
]
LABELS = ["positive"] * 4 + ["negative"] * 4


def test_training_cost_is_linear_in_the_data_and_the_labels():
    cfg = ContrastiveConfig()
    assert training_steps(16, 2, cfg) == cfg.min_steps  # a handful of examples still gets min_steps updates
    # massive_en at 64 shots: 60 classes x 64 = 3,840 examples -> 960 updates, where all pairs would be ~7.4 million
    assert training_steps(3840, 60, cfg) == 960
    assert training_steps(38400, 60, cfg) == 10 * training_steps(3840, 60, cfg)
    # many labels, few examples each: 16 updates per label (massive_en at 8 shots: 480 examples, 60 intents)
    assert training_steps(480, 60, cfg) == 960 and training_steps(480, 60, ContrastiveConfig(steps_per_label=0)) == 160
    assert training_steps(165, 28, cfg) == 448  # GoEmotions at 8 per label


def test_bad_parameters_are_user_errors():
    with pytest.raises(ConfigError, match="loss must be one of"):
        make_method("contrastive", loss="all-pairs")
    with pytest.raises(ConfigError, match="even"):
        make_method("contrastive", batch_size=5)
    with pytest.raises(ConfigError, match="anchors must be >= 0"):
        make_method("contrastive", anchors=-1)
    with pytest.raises(ConfigError, match="must contain"):
        make_method("contrastive", anchor_template="a label")
    with pytest.raises(ConfigError, match="stop_after_zero_loss must be >= 0"):
        make_method("contrastive", stop_after_zero_loss=-1)
    with pytest.raises(ConfigError, match="end_to_end must be >= 0"):
        make_method("contrastive", end_to_end=-1)
    with pytest.raises(ConfigError, match="mixed_precision must be one of"):
        make_method("contrastive", mixed_precision="int8")
    with pytest.raises(ConfigError, match="length_buckets must be >= 1"):
        make_method("contrastive", length_buckets=0)
    with pytest.raises(ValueError, match="single-label only"):
        MultiLabelContrastiveConfig(end_to_end=2)


@pytest.fixture(scope="module")
def fitted(minilm):
    clf = make_method(
        "contrastive", backbone=minilm, min_steps=3, steps_per_label=0, passes=1, batch_size=8, lr=1e-4, seed=0
    )
    return clf.fit(TEXTS, LABELS)


def test_fit_tunes_a_copy_of_the_encoder_and_predicts_probabilities(fitted, minilm):
    assert fitted.steps == 3
    tuned = dict(fitted.backbone.model.named_parameters())
    frozen = dict(minilm.model.named_parameters())
    name = next(n for n in frozen if "encoder.layer.5" in n and n.endswith("weight"))
    assert not torch.equal(tuned[name], frozen[name])  # the encoder moved
    assert fitted.backbone.model is not minilm.model  # the shared backbone did not
    embedding_names = [n for n in frozen if ".embeddings." in n]
    assert all(torch.equal(tuned[n], frozen[n]) for n in embedding_names)  # fixed (tune_embeddings=False)
    assert all(p.requires_grad for p in fitted.backbone.model.parameters())  # trainable again after tuning
    proba = fitted.predict_proba(["what a lovely film", "so boring"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.predict(TEXTS).tolist() == LABELS


def test_tune_embeddings_tunes_the_embedding_layer_too(minilm):
    params = {"min_steps": 3, "steps_per_label": 0, "passes": 1, "batch_size": 8, "lr": 1e-4, "seed": 0}
    tuned = make_method("contrastive", backbone=minilm, tune_embeddings=True, **params).fit(TEXTS, LABELS)
    weights, untuned = dict(tuned.backbone.model.named_parameters()), dict(minilm.model.named_parameters())
    name = next(n for n in untuned if n.endswith("word_embeddings.weight"))
    assert not torch.equal(weights[name], untuned[name])


def test_the_embedding_layer_is_found_or_none_without_a_transformer(minilm):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    from agileclf.methods.contrastive import embedding_layer

    layer = embedding_layer(minilm.model)
    assert layer is minilm.model[0].auto_model.embeddings and layer.word_embeddings.weight.shape[1] == 384
    static = SentenceTransformer(modules=[StaticEmbedding(minilm.tokenizer, embedding_dim=8)], device="cpu")
    assert embedding_layer(static) is None  # its embeddings are the whole model: nothing is fixed


def test_bf16_autocast_tunes_in_bf16_and_keeps_fp32_weights(minilm, tmp_path):
    params = {"min_steps": 3, "steps_per_label": 0, "passes": 1, "batch_size": 8, "lr": 1e-4, "seed": 0}
    bf16 = make_method("contrastive", backbone=minilm, mixed_precision="bf16", **params).fit(TEXTS, LABELS)
    # accelerate's per-process state holds bf16 after that fit; an fp32 fine-tuning in the same process still runs
    assert make_method("finetune", minilm, min_steps=2, seed=0).fit(TEXTS, LABELS).predict(TEXTS[:1])
    fp32 = make_method("contrastive", backbone=minilm, mixed_precision="no", **params).fit(TEXTS, LABELS)
    weights = dict(bf16.backbone.model.named_parameters())
    name = next(n for n in weights if "encoder.layer.5" in n and n.endswith("weight"))
    assert weights[name].dtype == torch.float32  # autocast: only the arithmetic is bf16
    assert not torch.equal(weights[name], dict(fp32.backbone.model.named_parameters())[name])  # same seed, in fp32
    assert not torch.equal(weights[name], dict(minilm.model.named_parameters())[name])  # it moved
    assert bf16.predict(TEXTS).tolist() == LABELS
    bf16.save(tmp_path / "bf16")  # it predicts in fp32, as its loaded copy does (no autocast left on its forward)
    np.testing.assert_allclose(load_classifier(tmp_path / "bf16").predict_proba(TEXTS), bf16.predict_proba(TEXTS),
                               atol=1e-6)  # fmt: skip


def test_save_and_load_give_the_same_probabilities(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    loaded = load_classifier(tmp_path / "clf")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-5)
    # what fit chose from the examples (the head's C, updates, the anchor gate) travels in agileclf.json
    assert set(fitted.fit_choices()) == {"c", "steps", "anchors", "name_signal"}
    assert loaded.fit_choices() == fitted.fit_choices()


def test_end_to_end_phase_tunes_encoder_and_head_together_from_the_fitted_head(fitted, minilm, tmp_path):
    params = {"min_steps": 3, "steps_per_label": 0, "passes": 1, "batch_size": 8, "lr": 1e-4, "seed": 0}
    two_phase = make_method("contrastive", backbone=minilm, end_to_end=4, end_to_end_lr=1e-4, **params)
    two_phase.fit(TEXTS, LABELS)

    def training_log_loss(clf):
        proba = clf.predict_proba(TEXTS)
        columns = [list(clf.classes_).index(label) for label in LABELS]
        return -np.log(proba[np.arange(len(TEXTS)), columns]).mean()

    # the first phase is the same (same seed); the second moved the encoder and sharpened the head on its examples
    assert two_phase.steps == fitted.steps
    assert not np.allclose(two_phase.backbone.embed(TEXTS), fitted.backbone.embed(TEXTS), atol=1e-4)
    assert training_log_loss(two_phase) < training_log_loss(fitted) / 2
    assert two_phase.predict(TEXTS).tolist() == LABELS
    two_phase.save(tmp_path / "clf")
    np.testing.assert_allclose(
        load_classifier(tmp_path / "clf").predict_proba(TEXTS), two_phase.predict_proba(TEXTS), atol=1e-5
    )


def test_tuning_stops_once_the_loss_has_been_zero_for_a_run_of_updates(minilm):
    params = {"steps_per_label": 0, "batch_size": 8, "lr": 1e-4, "seed": 0, "min_steps": 40, "anchors": 0}
    stopped = make_method("contrastive", backbone=minilm, stop_after_zero_loss=3, **params).fit(TEXTS, LABELS)
    assert 3 <= stopped.steps < 40  # eight separable reviews meet the triplet margin long before 40 updates
    assert stopped.fit_choices()["steps"] == stopped.steps
    assert stopped.predict(TEXTS).tolist() == LABELS
    # batch-cosine regresses cosines to targets: its loss is never exactly 0, so every update runs
    params |= {"min_steps": 6, "loss": "batch-cosine"}
    assert make_method("contrastive", backbone=minilm, stop_after_zero_loss=1, **params).fit(TEXTS, LABELS).steps == 6


def test_zero_loss_updates_skip_the_backward_pass_and_end_with_the_same_weights(minilm, monkeypatch):
    import agileclf.methods.contrastive as module

    params = {"steps_per_label": 0, "batch_size": 8, "lr": 1e-4, "seed": 0, "min_steps": 24, "anchors": 0}
    params["stop_after_zero_loss"] = 0  # every update runs, many of them at zero loss once the reviews separate
    original_init = module.ZeroLossSkipsBackward.__init__

    def counting_init(self, loss, model):  # counts each update's loss value and each backward pass reaching the model
        original_init(self, loss, model)
        loss.register_forward_hook(lambda module_, inputs, output: losses.append(float(output.detach())))
        self.trainable[0].register_hook(lambda grad: backward_passes.append(1))

    monkeypatch.setattr(module.ZeroLossSkipsBackward, "__init__", counting_init)
    losses, backward_passes = [], []
    skipping = make_method("contrastive", backbone=minilm, **params).fit(TEXTS, LABELS)
    zero_updates = losses.count(0.0)
    assert len(losses) == 24 and zero_updates >= 4 and len(backward_passes) == 24 - zero_updates
    monkeypatch.setattr(
        module.ZeroLossSkipsBackward, "forward", lambda self, features, labels: self.loss(features, labels)
    )
    losses, backward_passes = [], []
    computing = make_method("contrastive", backbone=minilm, **params).fit(TEXTS, LABELS)
    assert losses.count(0.0) == zero_updates and len(backward_passes) == 24  # the same run, every backward pass made
    computed = dict(computing.backbone.model.named_parameters())
    for name, tensor in skipping.backbone.model.named_parameters():
        torch.testing.assert_close(tensor, computed[name], rtol=0, atol=1e-6, msg=name)
    np.testing.assert_allclose(skipping.predict_proba(TEXTS), computing.predict_proba(TEXTS), atol=1e-6)


def test_int8_inference_agrees_with_fp32(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    fast = load_classifier(tmp_path / "clf")
    fast.config.inference = "int8"
    assert fast.predict(TEXTS).tolist() == fitted.predict(TEXTS).tolist()
    np.testing.assert_allclose(fast.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=0.15)


def test_batch_cosine_loss_is_setfits_objective_over_in_batch_pairs():
    from agileclf.methods.contrastive_losses import BatchCosineSimilarityLoss

    class Identity(torch.nn.Module):
        def forward(self, features):
            return {"sentence_embedding": features["x"]}

    loss = BatchCosineSimilarityLoss(Identity())
    labels = torch.tensor([0, 0, 1, 1])
    separated = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    assert loss([{"x": separated}], labels).item() == pytest.approx(0.0)
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    # same-label pairs at cosine 0 cost 1 each; different-label pairs cost 1, 0, 0, 1: (1 + 0.5) / 2
    assert loss([{"x": mixed}], labels).item() == pytest.approx(0.75)


@pytest.mark.parametrize("side", ["right", "left"])
def test_length_buckets_give_one_padded_pass_embeddings_and_loss(minilm, side):
    from agileclf.methods.contrastive_losses import LengthBuckets, in_batch_loss

    model = minilm.model
    texts = ["ok", "a long review that goes on and on about the plot, the cast and the ending", "fine film", "bad"]
    labels = torch.tensor([0, 1, 1, 0])
    padding_side, model.tokenizer.padding_side = model.tokenizer.padding_side, side
    try:
        features = model.tokenize(texts)
        loss = in_batch_loss(model, "batch-all", 0.25)
        with torch.no_grad():
            whole = model(dict(features))["sentence_embedding"]
            for buckets in (2, 3, 8):
                bucketed = LengthBuckets(loss, model, buckets)
                torch.testing.assert_close(bucketed.embed(dict(features)), whole, rtol=0, atol=1e-5)
                torch.testing.assert_close(bucketed([features], labels), loss([features], labels), atol=1e-5, rtol=0)
    finally:
        model.tokenizer.padding_side = padding_side
    assert features["attention_mask"].sum(dim=1).min() < features["attention_mask"].shape[1]  # padding was cut


def test_length_buckets_tune_as_one_padded_pass(minilm):
    params = {"steps_per_label": 0, "batch_size": 8, "lr": 1e-4, "seed": 0, "min_steps": 6, "anchors": 0}
    params |= {"mixed_precision": "no", "stop_after_zero_loss": 0}
    one = make_method("contrastive", backbone=minilm, **params).fit(TEXTS, LABELS)
    bucketed = make_method("contrastive", backbone=minilm, length_buckets=2, **params).fit(TEXTS, LABELS)
    # float rounding differs with the shapes multiplied, and six updates carry it into the weights: 5e-4 here
    np.testing.assert_allclose(bucketed.predict_proba(TEXTS), one.predict_proba(TEXTS), atol=2e-3)


def test_batch_cosine_tuning_pulls_classes_apart(minilm):
    def class_margin(backbone):
        vectors = backbone.embed(TEXTS, normalize=True)
        similarity = vectors @ vectors.T
        same = np.equal.outer(LABELS, LABELS) & ~np.eye(len(TEXTS), dtype=bool)
        return similarity[same].mean() - similarity[~np.equal.outer(LABELS, LABELS)].mean()

    clf = make_method(
        "contrastive", backbone=minilm, loss="batch-cosine", min_steps=8, steps_per_label=0, batch_size=8, lr=1e-4
    )
    clf.fit(TEXTS, LABELS)
    assert class_margin(clf.backbone) > class_margin(minilm) + 0.2


def test_contrastive_without_same_label_pairs_says_so_instead_of_being_a_linear_probe(minilm):
    from agileclf.errors import DataError

    clf = make_method("contrastive", backbone=minilm, min_steps=2, steps_per_label=0)
    with pytest.raises(DataError, match=r"two labels with two or more examples.*a \(2\), b \(1\), c \(1\)"):
        clf.fit(["x one", "x two", "y one", "z one"], ["a", "a", "b", "c"])


def test_anchors_pull_each_labels_examples_toward_its_name(minilm):
    def name_margin(backbone):
        """Mean cosine of an example to its own label's anchor minus to the other label's."""
        vectors = backbone.embed(TEXTS, normalize=True)
        names = backbone.embed(["a positive review", "a negative review"], normalize=True)
        similarity = vectors @ names.T
        own = np.array([0 if label == "positive" else 1 for label in LABELS])
        return (similarity[np.arange(len(TEXTS)), own] - similarity[np.arange(len(TEXTS)), 1 - own]).mean()

    def tuned(anchors):
        clf = make_method(
            "contrastive", backbone=minilm, anchors=anchors, anchor_template="a {label} review", min_steps=8,
            steps_per_label=0, batch_size=8, lr=1e-4, seed=0,
        )  # fmt: skip
        return clf.fit(TEXTS, LABELS)

    with_anchors = tuned(2)
    assert with_anchors._anchor_texts() == ["a negative review", "a positive review"] and with_anchors.anchors_used == 2
    assert name_margin(with_anchors.backbone) > name_margin(tuned(0).backbone) + 0.15  # 0.66-0.73 vs 0.36-0.38


def test_anchors_by_default_only_where_the_label_names_classify_the_examples(minilm, monkeypatch):
    import agileclf.methods.contrastive as module
    from agileclf.methods.contrastive import name_signal

    y = np.array([1 if label == "positive" else 0 for label in LABELS])
    assert name_signal(minilm, TEXTS, y, ["negative", "positive"]) >= module.NAME_SIGNAL  # names read the reviews
    assert name_signal(minilm, TEXTS, y, ["ABBR", "DESC"]) < module.NAME_SIGNAL  # trec-like codes do not
    monkeypatch.setattr(module, "_train", lambda model, texts, targets, *rest: None)  # the rows, not the tuning
    clf = make_method("contrastive", backbone=minilm, seed=0)
    meaningful = clf.fit(TEXTS, LABELS)
    assert meaningful.config.anchors is None and meaningful.anchors_used == module.AUTO_ANCHORS
    coded = clf.fit(TEXTS, ["DESC" if label == "positive" else "ABBR" for label in LABELS])
    assert coded.anchors_used == 0 and coded.name_signal < module.NAME_SIGNAL
    assert coded.fit_choices()["anchors"] == 0 and coded.fit_choices()["name_signal"] == round(coded.name_signal, 4)
    monkeypatch.setattr(module, "name_signal", lambda *args: 1.0)  # numbers that happen to match every example
    numbered = clf.fit(TEXTS, ["1" if label == "positive" else "0" for label in LABELS])
    assert numbered.name_signal == 1.0 and numbered.anchors_used == 0
    indexed = clf.fit(TEXTS, ["LABEL_1" if label == "positive" else "LABEL_0" for label in LABELS])  # exported ids
    assert indexed.name_signal == 1.0 and indexed.anchors_used == 0


def test_tuning_with_progress_shows_a_bar_and_prints_nothing_else(minilm, monkeypatch, capsys):
    monkeypatch.setenv("AGILECLF_QUIET", "0")  # as a user at a terminal runs it
    params = {"min_steps": 2, "steps_per_label": 0, "passes": 1, "batch_size": 8, "seed": 0, "anchors": 0}
    clf = make_method("contrastive", backbone=minilm, **params).fit(TEXTS, LABELS)
    captured = capsys.readouterr()
    assert clf.steps == 2 and "train_runtime" not in captured.out + captured.err  # the trainer's metrics dict
    assert "widget" not in captured.err  # sentence-transformers' model-card sampling, for a card never written
    assert f"contrastive {len(TEXTS)} examples" in captured.err and "/2 [" in captured.err  # the bar, named


def test_auto_mixed_precision_is_bf16_only_where_the_hardware_multiplies_it_natively(monkeypatch):
    from agileclf.methods import training

    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not training.native_bf16(cpu) and training.resolve_mixed_precision("auto", cpu) == "no"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert training.native_bf16(cpu) and training.resolve_mixed_precision("auto", cpu) == "bf16"
    assert training.resolve_mixed_precision("no", cpu) == "no"  # an explicit setting is kept
    assert training.resolve_mixed_precision("fp16", cpu) == "no"  # GPU only
    assert ContrastiveConfig().mixed_precision == MultiLabelContrastiveConfig().mixed_precision == "auto"
