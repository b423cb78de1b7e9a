"""End to end through the CLI: a tiny causal LM saved to a folder is trained on and evaluated with --backbone."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agileclf.cli import app


def test_train_and_evaluate_with_a_causal_backbone(tiny_lm, task, tmp_path):
    (train_x, train_y), _, (test_x, test_y) = task
    for name, texts, labels in (("train", train_x, train_y), ("test", test_x, test_y)):
        rows = [json.dumps({"text": t, "label": y}) for t, y in zip(texts, labels, strict=True)]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(rows) + "\n")
    runner = CliRunner()
    model = tmp_path / "clf"
    args = ["train", str(tmp_path / "train.jsonl"), "-m", "lora", "-o", str(model), "-b", str(tiny_lm), "-q"]
    tiny = ["-p", "prompt_search=off"]  # the tiny model knows one prompt layout
    lora = ["-p", "min_steps=80", "-p", "lr=1e-2", "-p", "target_modules=all-linear"]
    result = runner.invoke(app, [*args, *tiny, *lora])
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "agileclf.json").read_text())
    assert meta["backbone"]["kind"] == "causal-lm" and meta["backbone"]["ref"] == str(tiny_lm.resolve())
    assert not (model / "backbone").exists()  # only the adapter is stored
    result = runner.invoke(app, ["evaluate", str(model), str(tmp_path / "test.jsonl"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n"] == len(test_x) and metrics["accuracy"] >= 0.9  # measured 1.0; chance 0.25

    generated = tmp_path / "gen"
    args = ["train", str(tmp_path / "train.jsonl"), "-m", "zero-shot", "-o", str(generated), "-b", str(tiny_lm)]
    assert runner.invoke(app, [*args, "-q", *tiny, "-p", "decode=generate"]).exit_code == 0
    result = runner.invoke(app, ["evaluate", str(generated), str(tmp_path / "test.jsonl"), "--json", "-q"])
    assert 0.0 <= json.loads(result.stdout.strip().splitlines()[-1])["no_match_rate"] <= 1.0


def test_train_an_ensemble_of_the_causal_lm_and_the_encoder_through_the_cli(tiny_lm, task, tmp_path):
    (train_x, train_y), _, (test_x, test_y) = task
    rows = [json.dumps({"text": t, "label": y}) for t, y in zip(train_x + test_x, train_y + test_y, strict=True)]
    (tmp_path / "train.jsonl").write_text("\n".join(rows[: len(train_x)]) + "\n")
    (tmp_path / "test.jsonl").write_text("\n".join(rows[len(train_x) :]) + "\n")
    runner = CliRunner()
    model = tmp_path / "ens"
    lora = {"prompt_search": "off", "min_steps": 80, "lr": 1e-2, "target_modules": ["all-linear"]}
    members = ["lora", "linear-probe@bundled:all-MiniLM-L6-v2"]
    args = ["train", str(tmp_path / "train.jsonl"), "-m", "ensemble", "-o", str(model), "-b", str(tiny_lm), "-q",
            "-p", f"members={','.join(members)}", "-p", f"member_params={json.dumps(lora)}"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "agileclf.json").read_text())
    assert meta["method"] == "ensemble" and list(meta["fitted"]["members"]) == members
    result = runner.invoke(app, ["evaluate", str(model), str(tmp_path / "test.jsonl"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n"] == len(test_x) and metrics["accuracy"] >= 0.8  # chance 0.25; LoRA alone 1.0 above
