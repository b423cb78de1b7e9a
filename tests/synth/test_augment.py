"""--augment: real rows always kept, synthetic rows per class capped by count and ratio, dropped rows ignored."""

from __future__ import annotations

import json

from agileclf.synth.augment import augment


def write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cap_and_ratio_per_class(tmp_path):
    texts, labels = ["a one", "a two", "b one"], ["a", "a", "b"]
    rows = [{"text": f"syn a {i}", "label": "a", "source": "synthetic", "kept": True} for i in range(10)]
    rows += [{"text": f"syn b {i}", "label": "b", "source": "synthetic"} for i in range(10)]
    rows += [{"text": "dropped b", "label": "b", "kept": False}, {"text": "A ONE!", "label": "a"}]
    rows += [{"text": "other", "label": "c"}]
    path = write_rows(tmp_path / "syn.jsonl", rows)

    everything = augment(texts, labels, path)
    assert everything.texts[:3] == texts and everything.labels[:3] == labels
    assert everything.added == {"a": 10, "b": 10}  # the dropped row and the copy of a real text are skipped
    assert "dropped b" not in everything.texts and "A ONE!" not in everything.texts
    assert everything.notes and "c" in everything.notes[0]

    capped = augment(texts, labels, path, cap=4)
    assert capped.added == {"a": 4, "b": 4} and len(capped.texts) == 11
    by_ratio = augment(texts, labels, path, ratio=1.5)
    assert by_ratio.added == {"a": 3, "b": 1}
    both = augment(texts, labels, path, cap=2, ratio=3, seed=1)
    assert both.added == {"a": 2, "b": 2}
    assert both.texts == augment(texts, labels, path, cap=2, ratio=3, seed=1).texts  # seeded draw
    assert set(both.texts[3:5]) <= {f"syn a {i}" for i in range(10)}
