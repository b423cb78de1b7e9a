import json

import numpy as np
import pytest

from agileclf.backbones import BUNDLED_MINILM, load_backbone
from agileclf.backbones.kinds import CAUSAL_LM, ENCODER, detect_kind, resolve_path
from agileclf.errors import BackboneError


def test_default_is_the_bundled_minilm(minilm):
    assert minilm.ref == BUNDLED_MINILM
    assert (minilm.path / "model.safetensors").is_file()
    assert minilm.kind == ENCODER
    assert minilm.dim == 384


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing", "no such folder"),
        (lambda tmp: (tmp / "f.bin").write_bytes(b"x") and tmp / "f.bin", "is a file"),
        (lambda tmp: tmp, "no config.json or modules.json"),
    ],
)
def test_wrong_paths_are_clear_errors(tmp_path, make, message):
    with pytest.raises(BackboneError, match=message):
        load_backbone(make(tmp_path))


def test_kind_is_read_from_the_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    assert detect_kind(tmp_path) == CAUSAL_LM
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    assert detect_kind(tmp_path) == ENCODER
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    assert detect_kind(tmp_path) == CAUSAL_LM
    assert detect_kind(resolve_path(None)) == ENCODER


def test_batched_length_bucketed_embeddings_match_one_at_a_time(minilm):
    texts = ["short", "a much longer sentence with many more tokens than the first one", "mid length text"]
    batched = minilm.embed(texts, batch_size=8)
    single = np.vstack([minilm.embed([t]) for t in texts])
    assert batched.shape == (3, 384)
    np.testing.assert_allclose(batched, single, atol=1e-5)
    norms = np.linalg.norm(minilm.embed(texts, normalize=True), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_similar_sentences_are_closer(minilm):
    a, b, c = minilm.embed(["I love this film", "What a great movie", "The invoice total is wrong"], normalize=True)
    assert a @ b > a @ c + 0.2


def test_a_broken_folder_is_the_users_error_but_out_of_memory_propagates(tmp_path, monkeypatch):
    import sentence_transformers

    from agileclf.backbones.encoder import EncoderBackbone

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(BackboneError, match="could not load an encoder"):
        _ = EncoderBackbone(tmp_path).model  # no weights, no tokenizer: a user's mistake, exit 2

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        _ = EncoderBackbone(tmp_path).model


def test_a_tuned_copy_keeps_its_origin_and_leaves_the_backbone_alone(minilm):
    import copy

    model = copy.deepcopy(minilm.model)
    tuned = minilm.with_model(model)
    assert tuned.model is model and minilm.model is not model
    assert tuned.origin is minilm and tuned.with_model(model).origin is minilm and minilm.origin is minilm
    assert tuned.fingerprint == minilm.fingerprint and tuned.ref == minilm.ref


def test_average_models_puts_the_weights_mean_into_the_first():
    import torch

    from agileclf.backbones.encoder import average_models

    models = [torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)) for _ in range(3)]
    for i, model in enumerate(models):
        torch.nn.init.constant_(model[0].weight, float(i))
        model[1].num_batches_tracked.fill_(i + 5)  # an integer buffer: not averaged, the first model's kept
    expected_bias = torch.stack([m[0].bias.detach() for m in models]).mean(0)
    souped = average_models(models)
    assert souped is models[0]
    assert torch.equal(souped[0].weight, torch.full((2, 3), 1.0))
    torch.testing.assert_close(souped[0].bias, expected_bias)
    assert int(souped[1].num_batches_tracked) == 5
