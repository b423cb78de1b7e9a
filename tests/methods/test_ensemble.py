"""ensemble: members fitted on the same examples, probabilities averaged; saved and loaded as one directory."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.artifact import load_classifier
from agileclf.errors import ConfigError
from agileclf.methods import make_method

TEXTS = [
    "i loved this film",
    "a wonderful, moving story",
    "great acting throughout",
    "brilliant and funny",
    "i hated this film",
    "a dull, boring mess",
    "terrible acting throughout",
    "a complete waste of time",
]
LABELS = ["positive"] * 4 + ["negative"] * 4
NEW = ["what a lovely film", "so boring", "an ok movie"]


@pytest.fixture(scope="module")
def fitted(minilm):
    return make_method("ensemble", backbone=minilm, members="linear-probe,zero-shot", weights="3,1").fit(TEXTS, LABELS)


def test_probabilities_are_the_weighted_mean_of_the_members(fitted, minilm):
    probe = make_method("linear-probe", backbone=minilm).fit(TEXTS, LABELS)
    zero = make_method("zero-shot", backbone=minilm).fit(TEXTS, LABELS)
    expected = 0.75 * probe.predict_proba(NEW) + 0.25 * zero.predict_proba(NEW)
    np.testing.assert_allclose(fitted.predict_proba(NEW), expected, atol=1e-6)
    assert [m.name for m in fitted.members] == ["linear-probe", "zero-shot"]
    assert fitted.predict(TEXTS) == LABELS


def test_save_and_load_give_identical_probabilities(fitted, minilm, tmp_path):
    fitted.save(tmp_path / "ens")
    assert (tmp_path / "ens" / "members" / "0-linear-probe" / "agileclf.json").is_file()
    loaded = load_classifier(tmp_path / "ens", backbone=minilm)
    np.testing.assert_array_equal(loaded.predict_proba(NEW), fitted.predict_proba(NEW))


def test_bad_member_lists_are_user_errors():
    with pytest.raises(ConfigError, match="at least 2 members"):
        make_method("ensemble", members="finetune")
    with pytest.raises(ConfigError, match="one weight per member"):
        make_method("ensemble", members="finetune,contrastive", weights="1")
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        make_method("ensemble", members="finetune,nope")
