"""static: a teacher's encoder distilled to static token vectors (model2vec), a head on them, save/load, speed.

A tiny BERT sentence encoder built here (a 60-word vocabulary) keeps the distillation to a second; the real
MiniLM takes about a minute and is measured by the bench, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.backbones import load_backbone
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier

TEXTS = [
    "i loved this film",
    "a wonderful moving story",
    "great acting throughout",
    "brilliant and funny",
    "i hated this film",
    "a dull boring mess",
    "terrible acting throughout",
    "a complete waste of time",
]
LABELS = ["positive"] * 4 + ["negative"] * 4


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """A randomly initialised 2-layer BERT as a sentence-transformers folder, vocabulary from TEXTS."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-encoder")
    words = sorted({w for t in TEXTS for w in t.split()} | {"what", "a", "lovely", "so"})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(tokens)})  # transformers 5: a dict
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)  # fmt: skip
    bert_dir = folder / "bert"
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=32)
    model = SentenceTransformer(modules=[transformer, models.Pooling(32, pooling_mode="mean")], device="cpu")
    model.save(str(folder / "st"))
    return load_backbone(folder / "st")


@pytest.fixture(scope="module")
def fitted(tiny_encoder):
    clf = make_method("static", backbone=tiny_encoder, teacher="linear-probe", seed=0)
    return clf.fit(TEXTS, LABELS)


def test_the_head_sits_on_static_vectors_and_no_transformer_runs_to_predict(fitted, monkeypatch):
    assert fitted.encoder.dim == 32
    monkeypatch.setattr(type(fitted.backbone), "embed", lambda *a, **k: pytest.fail("the transformer ran"))
    proba = fitted.predict_proba(["what a lovely film", "so boring"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (fitted.predict(TEXTS) == np.array(LABELS)).mean() == 1.0  # separable on its own examples


def test_static_vectors_are_the_encoder_on_each_token(fitted, tiny_encoder):
    """model2vec's vector for a one-word text is (up to its weighting) the encoder's embedding of that word."""
    static = fitted.encoder.embed(["film"], normalize=True)[0]
    dense = tiny_encoder.embed(["film"], normalize=True)[0]
    assert float(static @ dense) > 0.9


def test_save_load_gives_identical_probabilities(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    assert (tmp_path / "m" / "static" / "model.safetensors").is_file()
    loaded = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-6)


def test_a_contrastive_teacher_is_distilled_after_tuning(tiny_encoder):
    clf = make_method("static", backbone=tiny_encoder, teacher="contrastive", seed=0,
                      teacher_params={"min_steps": 2, "steps_per_label": 0, "passes": 1, "batch_size": 4,
                                      "lr": 1e-2})  # fmt: skip
    clf.fit(TEXTS, LABELS)
    assert clf.teacher_steps == 2
    assert clf.fit_choices()["teacher"]["steps"] == 2  # the teacher's own choices are recorded with the student's
    untuned = make_method("static", backbone=tiny_encoder, teacher="linear-probe").fit(TEXTS, LABELS)
    assert not np.allclose(clf.encoder.embed(["film"]), untuned.encoder.embed(["film"]))  # the tuned encoder's


def test_bad_parameters_are_user_errors():
    with pytest.raises(ConfigError, match="teacher must be one of"):
        make_method("static", teacher="finetune")
    with pytest.raises(ConfigError, match="pca_dims"):
        make_method("static", pca_dims=-1)


def test_unlabeled_texts_are_labelled_by_the_teacher_for_the_head(tiny_encoder, tmp_path):
    bulk = ["what a lovely film", "so boring", "great film", "a dull film", "i loved this film", "so funny"]
    path = tmp_path / "bulk.txt"
    path.write_text("\n".join(bulk + bulk[:2]) + "\n")  # duplicates are read once; training texts are left out
    clf = make_method("static", backbone=tiny_encoder, teacher="linear-probe", unlabeled=str(path), seed=0)
    clf.fit(TEXTS, LABELS)
    assert clf.unlabeled_used == 5 and clf.fit_choices()["unlabeled_texts"] == 5
    teacher = make_method("linear-probe", backbone=tiny_encoder, seed=0).fit(TEXTS, LABELS)
    fresh = [t for t in bulk if t not in TEXTS]
    assert (clf.predict(fresh) == teacher.predict(fresh)).mean() >= 0.8  # it learnt the teacher's answers
    (tmp_path / "same.txt").write_text("\n".join(TEXTS))
    for name, error in (("same.txt", "no texts beyond the training examples"), ("absent.txt", "is not a file")):
        clf = make_method("static", backbone=tiny_encoder, teacher="linear-probe", unlabeled=str(tmp_path / name))
        with pytest.raises(ConfigError, match=error):
            clf.fit(TEXTS, LABELS)


def test_a_fitted_teacher_is_distilled_without_a_second_fit(fitted, tiny_encoder):
    """`learn_from` (what `agileclf speed` uses) gives the same classifier as fitting with that teacher."""
    teacher = make_method("linear-probe", backbone=tiny_encoder, seed=0).fit(TEXTS, LABELS)
    student = make_method("static", backbone=tiny_encoder, teacher="linear-probe", seed=0)
    student.learn_from(teacher, TEXTS, teacher.labels.encode(LABELS))
    np.testing.assert_allclose(student.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-6)


def test_distillation_never_asks_the_hub(tiny_encoder, monkeypatch):
    """model2vec looks a model card up on the Hub when the model's name is not a local path: never here."""
    import model2vec.distill.distillation as distillation

    from agileclf.backbones.static import distill_encoder

    monkeypatch.setattr(distillation, "model_info", lambda *a, **k: pytest.fail("the Hub was asked"))
    transformer = tiny_encoder.model[0].auto_model
    monkeypatch.setattr(transformer.config, "_name_or_path", "some-org/not-a-local-path")
    assert distill_encoder(tiny_encoder).dim == 32
