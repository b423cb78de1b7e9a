"""Multi-label zero-shot and ICL on a causal LM: one-label rows choose the prompt and demonstrations; save -> load."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.backbones import load_backbone
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier
from agileclf.methods.registry import make_task_method


@pytest.fixture(scope="module")
def backbone(tiny_lm):
    return load_backbone(tiny_lm)


def _multilabel(task_rows):
    """Each text with its one label, plus texts joining two of them with both labels."""
    texts, labels = task_rows
    lists = [[label] for label in labels]
    pairs = [(i, j) for i, j in zip(range(0, 16, 2), range(1, 16, 2), strict=True) if labels[i] != labels[j]]
    joined = [f"{texts[i]} {texts[j]}" for i, j in pairs]
    return texts + joined, lists + [sorted({labels[i], labels[j]}) for i, j in pairs], len(texts)


@pytest.mark.parametrize("name", ["zero-shot", "icl"])
def test_one_label_rows_choose_the_prompt_and_the_model_round_trips(backbone, task, tmp_path, name):
    texts, lists, n_single = _multilabel(task[0])
    clf = make_task_method("multilabel", name, backbone, seed=0)
    clf.fit(texts, lists)
    assert clf.task == "multilabel" and clf.config.prompt_search == "off"  # the search ran and was applied
    assert len(clf.prompt_search_table) >= 2
    if name == "icl":
        assert set(clf.pool_texts) <= set(texts[:n_single])  # demonstrations carry one label
    test_texts = task[2][0][:24]
    proba = clf.predict_proba(test_texts)
    single = make_method(name, backbone=backbone, seed=0).fit(*task[0])  # the same method on the one-label rows
    assert clf.config.template == single.config.template and clf.config.calibrate == single.config.calibrate
    np.testing.assert_allclose(proba, single.predict_proba(test_texts), atol=1e-6)
    assert all(row for row in clf.predict(test_texts))  # the top label is kept: allow_empty is off
    clf.set_thresholds(np.full(len(clf.labels), 0.2), "user")
    clf.save(tmp_path / name)
    reloaded = load_classifier(tmp_path / name)
    np.testing.assert_allclose(reloaded.predict_proba(test_texts[:8]), clf.predict_proba(test_texts[:8]), atol=1e-6)
    assert reloaded.predict(test_texts[:8]) == clf.predict(test_texts[:8])


def test_the_prompt_is_searched_when_a_label_has_no_one_label_row(backbone, task):
    texts, lists, n_single = _multilabel(task[0])
    lists = lists[:n_single] + [[*row, "mixed"] for row in lists[n_single:]]  # "mixed" only ever comes with others
    clf = make_task_method("multilabel", "zero-shot", backbone, seed=0).fit(texts, lists)
    assert "mixed" in clf.labels.names and clf.prompt_search_table  # the one-label rows of 4 labels chose it
    # ICL cannot score out of fold without 2 one-label rows of every label: it takes zero-shot's choice
    icl = make_task_method("multilabel", "icl", backbone, seed=0).fit(texts, lists)
    assert icl.prompt_search_table == clf.prompt_search_table and icl.prompt_chosen == clf.prompt_chosen
