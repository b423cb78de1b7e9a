"""ensemble: members fitted on the same examples, probabilities averaged, saved and loaded member by member."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_auto_and_calibration import TEST, TRAIN, flatten

from agileclf import load_classifier
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.ensemble import CAUSAL_PAIR, ENCODER_PAIR, split_member


def test_ensemble_is_the_mean_of_its_members_and_saves_and_loads_them(minilm, tmp_path):
    texts, labels = flatten(TRAIN)
    test_texts, _ = flatten(TEST)
    clf = make_method("ensemble", backbone=minilm, members=["zero-shot", "linear-probe"], seed=3).fit(texts, labels)
    alone = [make_method(n, backbone=minilm, seed=3).fit(texts, labels).predict_proba(test_texts)
             for n in ("zero-shot", "linear-probe")]  # fmt: skip
    assert not np.allclose(alone[0], alone[1], atol=1e-3)  # two different answers, so the mean is a real check
    proba = clf.predict_proba(test_texts)
    np.testing.assert_allclose(proba, (alone[0] + alone[1]) / 2, atol=1e-5)
    assert clf.fit_choices()["members"]["linear-probe"]["c"] > 0  # the members' own choices, by member
    clf.save(tmp_path / "ens")
    meta = json.loads((tmp_path / "ens" / "agileclf.json").read_text())
    assert {"members/0-zero-shot/agileclf.json", "members/1-linear-probe/agileclf.json"} <= set(meta["files"])
    loaded = load_classifier(tmp_path / "ens")
    assert loaded.name == "ensemble" and [m.name for m in loaded.members] == ["zero-shot", "linear-probe"]
    np.testing.assert_allclose(loaded.predict_proba(test_texts), proba, atol=1e-6)
    assert loaded.fit_choices() == clf.fit_choices()


def test_member_params_reach_only_the_members_that_take_them(minilm):
    texts, labels = flatten(TRAIN)
    clf = make_method("ensemble", backbone=minilm, members=["zero-shot", "linear-probe"], member_params={"c": 0.5},
                      calibration="none", seed=7)  # fmt: skip
    clf.fit(texts, labels)
    assert clf.members[1].config.c == 0.5 and not hasattr(clf.members[0].config, "c")
    assert all(m.config.calibration == "none" and m.config.seed == 7 for m in clf.members)  # the ensemble's own
    unused = make_method("ensemble", backbone=minilm, members=["zero-shot", "linear-probe"],
                         member_params={"lr": 1e-3})  # fmt: skip
    with pytest.raises(ConfigError, match="member_params lr: no member"):
        unused.fit(texts, labels)


@pytest.mark.parametrize(
    ("members", "error"),
    [
        (["linear-probe"], "at least 2 members"),
        (["linear-probe", "auto"], "single methods, not auto"),
        (["linear-probe", "no-such-method"], "unknown method 'no-such-method'"),
        (["linear-probe", "lora"], "'lora' does not work with a encoder backbone"),
    ],
)
def test_bad_members_fail_with_a_clear_error(minilm, members, error):
    with pytest.raises(ConfigError, match=error):
        make_method("ensemble", backbone=minilm, members=members).fit(*flatten(TRAIN))


def test_the_default_pair_is_the_measured_one_from_either_side(minilm):
    assert make_method("ensemble", backbone=minilm).member_specs == ENCODER_PAIR
    assert [split_member(s)[0] for s in CAUSAL_PAIR] == [split_member(s)[0] for s in reversed(ENCODER_PAIR)]
    assert split_member("contrastive@bundled:all-MiniLM-L6-v2") == ("contrastive", "bundled:all-MiniLM-L6-v2")
    assert split_member("finetune") == ("finetune", None)
