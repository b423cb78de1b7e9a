"""End to end through the CLI: synthesize with the tiny LM (label filter on), reports, resume, train --augment."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agileclf.cli import app
from agileclf.errors import ConfigError


def test_synthesize_reports_and_resume(tiny_writer, few_shot_file, tmp_path):
    runner = CliRunner()
    out = tmp_path / "syn.jsonl"
    args = ["synthesize", str(few_shot_file), "-b", str(tiny_writer), "-n", "2", "-o", str(out), "-q"]
    args += ["--max-new-tokens", "12", "--max-rounds", "1", "--seed", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| class | generated | malformed | length | duplicate | label | surplus | kept |" in result.stdout
    report = json.loads((tmp_path / "syn.report.json").read_text())
    assert report["rounds"] == 1 and set(report["counts"]) == {"blue", "gold", "green", "red"}
    rows = [json.loads(line) for line in (tmp_path / "syn.dropped.jsonl").read_text().splitlines()]
    judged = [r for r in rows if r["filters"]["label"] != "not-run"]
    # the judge (LoRA by default) ran on the tiny LM
    assert judged and all(r["predicted"] in report["counts"] for r in judged)
    folder = tmp_path / "syn.report"
    assert (folder / "diversity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| blue |" in (folder / "words.md").read_text() and "| **all** |" in (folder / "filters.md").read_text()

    again = runner.invoke(app, args)
    assert isinstance(again.exception, ConfigError) and "--resume" in str(again.exception)  # main() exits 2
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((tmp_path / "syn.report.json").read_text())["rounds"] == 2


def test_train_with_augment_adds_synthetic_rows(few_shot_file, tmp_path):
    syn = tmp_path / "syn.jsonl"
    rows = [{"text": f"zorp blik {w}", "label": "green", "source": "synthetic"} for w in ("quan", "flem", "drav")]
    syn.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "clf"
    args = ["train", str(few_shot_file), "-m", "linear-probe", "-o", str(out), "-q", "--augment", str(syn)]
    result = CliRunner().invoke(app, [*args, "--augment-cap", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "agileclf.json").read_text())["data"]
    assert data["synthetic"]["added"] == {"blue": 0, "gold": 0, "green": 2, "red": 0}
    assert data["rows_used"] == 16
    assert "training linear-probe on 18 examples" in result.output.replace("[bold]", "").replace("[/]", "")


def test_synthesize_takes_label_descriptions(tiny_writer, few_shot_file, tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"blue": "sky colour", "red": "a colour of fire and of ripe strawberries"}))
    out = tmp_path / "syn.jsonl"
    args = ["synthesize", str(few_shot_file), "-b", str(tiny_writer), "-n", "1", "-o", str(out), "-q"]
    args += ["--max-new-tokens", "8", "--max-rounds", "1", "--judge", "zero-shot", "--labels", str(labels)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "syn.report.json").read_text())["rounds"] == 1
    labels.write_text(json.dumps({"purple": "grape colour"}))
    failed = CliRunner().invoke(app, [*args[:-2], "--labels", str(labels), "-o", str(tmp_path / "other.jsonl")])
    assert "descriptions given for labels with no examples" in str(failed.exception) and "purple" in str(
        failed.exception
    )


def test_the_command_defaults_are_the_library_defaults():
    """The command writes its defaults again (importing generate.py would load torch at start-up); they must agree."""
    import dataclasses
    import inspect

    from agileclf.commands.synth import synthesize
    from agileclf.synth.filters import FilterSettings
    from agileclf.synth.generate import GenerationSettings

    options = inspect.signature(synthesize).parameters
    shared = [f for cls in (GenerationSettings, FilterSettings) for f in dataclasses.fields(cls) if f.name in options]
    assert len(shared) >= 12
    assert {f.name: options[f.name].default.default for f in shared} == {f.name: f.default for f in shared}
    assert GenerationSettings().temperature == 0.7  # chosen on dev rows (generate.py)


def test_outputs_of_the_wrong_kind_fail_before_the_model_loads(few_shot_file, tmp_path):
    (tmp_path / "taken.report").write_text("a file where the reports folder goes")
    base = ["synthesize", str(few_shot_file), "-b", str(tmp_path / "no-such-lm"), "-n", "2", "-q"]
    folder = CliRunner().invoke(app, [*base, "-o", str(tmp_path)])
    assert f"{tmp_path} is a folder; --out takes a file" in str(folder.exception)
    reports = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "taken.jsonl")])
    assert "taken.report exists and is a file; --report-dir takes a folder" in str(reports.exception)
