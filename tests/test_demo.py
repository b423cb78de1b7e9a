from rich.console import Console

from agileclf.demo import DEMO_METHODS, run_demo


def test_demo_trains_compares_saves_and_ships_autos_choice(tmp_path):
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115 - closed by the test's end
    rows = run_demo(tmp_path / "demo", console, console)
    console.file.close()
    assert [r["method"] for r in rows] == list(DEMO_METHODS)
    by_method = {r["method"]: r for r in rows}
    assert by_method["zero-shot"]["accuracy"] >= 0.8  # measured 0.912
    assert by_method["prior-probe"]["accuracy"] >= 0.9  # measured 0.988
    assert len({round(r["accuracy"], 3) for r in rows}) >= 2  # a task on which the methods differ
    for name in DEMO_METHODS:
        assert (tmp_path / "demo" / name / "agileclf.json").is_file()
    assert (tmp_path / "demo" / "confusion_matrix.png").is_file()
    text = (tmp_path / "out.txt").read_text()
    assert "chose" in text and "on the training messages only" in text and "ms/example" in text
    assert " *" not in text  # no method is crowned by its test accuracy
