"""The label-scoring cost benchmark's label sets and FLOP floor (the timings themselves are a command, not a test)."""

from __future__ import annotations

import pytest

from agileclf.bench.causal_cost import flops_floor, label_sets


def test_label_sets_draw_readable_data_labels_and_keep_a_synthetic_set():
    names = ["calendar_set", "play_music", "weather_query", "alarm_remove", "qa_factoid"]
    sets = label_sets(names, ks=(2, 5, 10), seed=0)
    assert set(sets["data labels"]) == {2, 5}  # K = 10 needs more labels than the data has
    assert sorted(sets["data labels"][5]) == sorted(n.replace("_", " ") for n in names)
    assert sets["data labels"][2] == label_sets(names, ks=(2,), seed=0)["data labels"][2]  # seeded
    assert len(sets["synthetic"][10]) == 10 and all(w.split()[0] == "category" for w in sets["synthetic"][10])


def test_flops_floor_counts_body_and_head_per_fed_token():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=1000,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    head = 1000 * 16
    body = sum(p.numel() for p in model.parameters()) - head  # tied: one embedding matrix
    assert flops_floor(model, prompt_tokens=10, fed_tokens=0) == 1.0
    expected = (10 * body + head + 3 * (body + head)) / (10 * body + head)
    assert flops_floor(model, prompt_tokens=10, fed_tokens=3) == pytest.approx(expected)


def _tiny_llama(folder):
    """An untrained one-layer Llama with the bundled word-piece tokenizer, saved in `folder`."""
    import shutil

    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from agileclf.backbones.kinds import resolve_path

    tokenizer_file = resolve_path(None) / "tokenizer.json"
    shutil.copy(tokenizer_file, folder / "tokenizer.json")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file), eos_token="[SEP]", pad_token="[PAD]")
    tokenizer.save_pretrained(str(folder))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


def test_bench_cost_command_reports_every_cell(tmp_path):
    """`agileclf bench-cost` end to end on an untrained tiny Llama with the bundled word-piece tokenizer."""
    import json

    from typer.testing import CliRunner

    from agileclf.cli import app

    _tiny_llama(tmp_path)
    args = ["bench-cost", str(tmp_path), "--no-methods", "--n", "4", "--repeats", "1", "--json", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    cells = {(r["labels"], r["prompt"], r["K"]): r for r in report["label_scoring"]}
    # the bundled support tickets have 8 labels: K = 2 and 5 of them; the synthetic set has every K
    assert set(cells) == {("data labels", p, k) for p in ("zero-shot", "icl") for k in (2, 5)} | {
        ("synthetic", p, k) for p in ("zero-shot", "icl") for k in (2, 5, 10, 20)
    }
    synthetic = cells[("synthetic", "zero-shot", 20)]
    assert synthetic["fed_tokens"] == 1 + 2 * 20  # "category" once, then each label's number and "item"
    assert synthetic["label_tokens"] == 4 and synthetic["ratio"] > 0 and synthetic["flops_floor"] > 1
    assert cells[("synthetic", "icl", 20)]["prompt_tokens"] > synthetic["prompt_tokens"]
    assert report["threads"] == 1


def test_methods_are_fitted_on_a_few_examples_per_label_and_timed_on_n(monkeypatch):
    import numpy as np

    import agileclf.methods
    from agileclf.bench import causal_cost

    seen = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def fit(self, texts, labels):
            seen.append((self.name, len(texts), sorted(set(labels))))
            return self

        def predict_proba(self, texts):
            seen.append((self.name, "predict", len(texts)))
            return np.zeros((len(texts), 2))

    monkeypatch.setattr(agileclf.methods, "make_method", lambda name, **kwargs: Recorder(name))
    monkeypatch.setattr(causal_cost, "load_seconds", lambda clf: {"load_s": 1.0, "first_call_s": 0.1})
    texts, labels = [f"text {i}" for i in range(400)], ["a", "b"] * 200
    rows = causal_cost.method_costs(None, texts, labels, n=16)
    assert [r["method"] for r in rows] == [title for title, _ in causal_cost.METHODS]
    fits = [s for s in seen if s[1] != "predict"]
    assert fits and all(size == 2 * causal_cost.FIT_SHOTS and names == ["a", "b"] for _, size, names in fits)
    assert ("lora", "predict", 16) in seen  # timed on n texts, after a 2-text warm-up


def test_load_seconds_reloads_the_saved_classifier(tmp_path, monkeypatch):
    """The one-time costs are measured on a real save -> load round trip, apart from ms/example."""
    from agileclf.backbones import load_backbone
    from agileclf.bench import causal_cost
    from agileclf.methods import load_classifier, make_method

    loaded = []

    def recording_load(path, **kwargs):
        loaded.append(load_classifier(path, **kwargs))
        return loaded[-1]

    monkeypatch.setattr("agileclf.methods.load_classifier", recording_load)
    backbone = load_backbone(str(_tiny_llama(tmp_path)))
    texts, labels = ["good", "bad", "fine", "awful"], ["pos", "neg", "pos", "neg"]
    for name in ("zero-shot", "icl"):  # icl keeps its demonstration pool in the method's own save()
        clf = make_method(name, backbone=backbone, prompt_search="off").fit(texts, labels)
        times = causal_cost.load_seconds(clf)
        assert set(times) == {"load_s", "first_call_s"} and times["load_s"] > 0 and times["first_call_s"] > 0
        assert loaded[-1] is not clf and loaded[-1].name == name
        assert loaded[-1].predict_proba(texts) == pytest.approx(clf.predict_proba(texts), abs=1e-5)
