"""Diversity measures and the per-class filter table."""

from __future__ import annotations

from agileclf.synth.pipeline import COUNTS, SynthesisResult
from agileclf.synth.report import distinctive_words, filter_table, trigram_curve


def test_trigram_curve_counts_unique_trigrams():
    texts = ["a b c d", "a b c", "x y z"]  # trigrams: abc, bcd | abc | xyz -> 3 unique
    curve = trigram_curve(texts, points=3)
    assert [n for n, _ in curve] == [1, 2, 3] and curve[-1] == (3, 3)
    assert all(u1 <= u2 for (_, u1), (_, u2) in zip(curve, curve[1:], strict=False))
    assert trigram_curve([]) == []


def test_distinctive_words_of_each_side():
    real, syn = ["cheap flights to paris", "cheap hotel"], ["book a flight", "book book hotel"]
    of_real, of_syn = distinctive_words(real, syn, top=2)
    assert of_real[0] == "cheap" and of_syn[0] == "book"
    assert "hotel" not in of_real[:1] and "hotel" not in of_syn[:1]


def test_filter_table_has_a_row_per_class_and_a_total():
    counts = {"a": dict.fromkeys(COUNTS, 1), "b": dict.fromkeys(COUNTS, 2)}
    table = filter_table(SynthesisResult(2, counts, 1, "done"))
    lines = table.splitlines()
    assert lines[2] == "| a | 1 | 1 | 1 | 1 | 1 | 1 | 1 |" and lines[-1] == "| **all** | 3 | 3 | 3 | 3 | 3 | 3 | 3 |"
