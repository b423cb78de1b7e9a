from rich.console import Console

from agileclf.demo import DEMO_METHODS, run_demo


def test_demo_trains_compares_and_saves(tmp_path):
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115 - closed by the test's end
    rows = run_demo(tmp_path / "demo", console, console)
    console.file.close()
    assert [r["method"] for r in rows] == list(DEMO_METHODS)
    by_method = {r["method"]: r for r in rows}
    assert by_method["linear-probe"]["accuracy"] >= 0.85
    assert by_method["zero-shot"]["accuracy"] >= 0.6
    for name in DEMO_METHODS:
        assert (tmp_path / "demo" / name / "agileclf.json").is_file()
    assert (tmp_path / "demo" / "confusion_matrix.png").is_file()
    text = (tmp_path / "out.txt").read_text()
    assert "accuracy" in text and "ms/example" in text
