"""auto (chosen by CV, never reads test data), prior-probe (label names as data) and temperature scaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf import load_classifier
from agileclf.methods import make_method
from agileclf.methods.base import Method
from agileclf.methods.calibration import apply_temperature, choose_temperature, fit_temperature

TRAIN = {
    "weather": ["will it rain tomorrow", "how hot is it outside", "is snow expected tonight", "forecast for the week"],
    "music": ["play some jazz", "skip this song", "turn the volume of the song up", "put on my running playlist"],
    "alarm": ["wake me at six", "set an alarm for 7 am", "cancel my morning alarm", "snooze the alarm please"],
}
TEST = {
    "weather": ["do I need an umbrella today", "what's the temperature in paris"],
    "music": ["play the latest album by adele", "next track"],
    "alarm": ["set a wake up alarm for tomorrow", "remove all alarms"],
}
FAST = ["zero-shot", "prior-probe", "linear-probe"]


def flatten(data):
    return [t for ts in data.values() for t in ts], [label for label, ts in data.items() for _ in ts]


def test_temperature_scaling_recovers_an_overconfident_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3))
    logits[np.arange(600), y] += 1.0
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    sampled = np.array([rng.choice(3, p=p) for p in true])  # labels drawn from the true probabilities
    overconfident = apply_temperature(true, 1 / 3)  # 3x sharper than the truth
    assert fit_temperature(overconfident, sampled) == pytest.approx(3.0, rel=0.25)
    folds = np.arange(600) % 3
    record = choose_temperature("auto", overconfident, sampled, folds)
    assert record["temperature"] > 2 and record["cv_calibrated_log_loss"] < record["cv_log_loss"]
    # already calibrated: the cross-fitted check does not gain, so auto leaves T at 1 or very close to it
    calm = choose_temperature("auto", true, sampled, folds)
    assert abs(calm["temperature"] - 1.0) < 0.2
    assert (apply_temperature(overconfident, 3.0).argmax(1) == overconfident.argmax(1)).all()


def test_calibration_is_fitted_by_cv_and_saved(minilm, tmp_path):
    texts, labels = flatten(TRAIN)
    labels = [{"weather": "sky", "music": "sound", "alarm": "time"}[x] for x in labels]  # zero-shot errs on some
    clf = make_method("zero-shot", backbone=minilm, calibration="temperature").fit(texts, labels)
    assert clf.calibration["mode"] == "temperature" and clf.temperature != 1.0
    raw = make_method("zero-shot", backbone=minilm, calibration="none").fit(texts, labels)
    test = flatten(TEST)[0]
    assert (clf.predict_proba(test).argmax(1) == raw.predict_proba(test).argmax(1)).all()
    assert not np.allclose(clf.predict_proba(test), raw.predict_proba(test))
    clf.save(tmp_path / "zs")
    loaded = load_classifier(tmp_path / "zs")
    assert loaded.temperature == pytest.approx(clf.temperature)
    np.testing.assert_allclose(loaded.predict_proba(test), clf.predict_proba(test), atol=1e-5)
    skipped = make_method("contrastive", backbone=minilm)  # auto: its CV would refit the encoder
    assert skipped.config.calibration == "auto" and not type(skipped).cheap_cv


def test_prior_probe_uses_label_names_and_picks_its_weight_by_cv(minilm, tmp_path):
    texts, labels = flatten(TRAIN)
    clf = make_method("prior-probe", backbone=minilm).fit(texts, labels)
    assert clf.prior_weight > 0 and set(clf.weight_cv) == {"0.0", "0.25", "0.5", "1.0", "2.0", "4.0", "8.0"}
    test_texts, test_labels = flatten(TEST)
    assert np.mean(np.array(clf.predict(test_texts)) == np.array(test_labels)) >= 5 / 6
    # names that say nothing: the weight goes to the head
    coded = {"weather": "l0", "music": "l1", "alarm": "l2"}
    blind = make_method("prior-probe", backbone=minilm).fit(texts, [coded[x] for x in labels])
    assert blind.prior_weight <= clf.prior_weight
    clf.save(tmp_path / "pp")
    reloaded = load_classifier(tmp_path / "pp").predict_proba(test_texts)
    np.testing.assert_allclose(reloaded, clf.predict_proba(test_texts), atol=1e-5)


def test_auto_chooses_by_cv_reports_it_and_saves_as_its_winner(minilm, tmp_path):
    texts, labels = flatten(TRAIN)
    clf = make_method("auto", backbone=minilm, candidates=FAST).fit(texts, labels)
    choice = clf.choice
    assert choice["chosen"] in FAST and choice["folds"] == 3
    assert all("cv_accuracy" in choice["candidates"][n] for n in FAST)
    best = choice["candidates"][choice["chosen"]]["cv_accuracy"]
    assert best == max(c["cv_accuracy"] for c in choice["candidates"].values())
    assert clf.bench_info["auto_choice"].startswith(choice["chosen"])
    from agileclf.methods.auto import describe_choice

    line = describe_choice(choice)
    assert line.startswith(f"auto chose {choice['chosen']}") and "out-of-fold accuracy: zero-shot " in line
    test_texts, _ = flatten(TEST)
    proba = clf.predict_proba(test_texts)
    clf.save(tmp_path / "auto")
    loaded = load_classifier(tmp_path / "auto")
    assert loaded.name == choice["chosen"] and loaded.meta["auto"]["chosen"] == choice["chosen"]
    np.testing.assert_allclose(loaded.predict_proba(test_texts), proba, atol=1e-5)


def test_auto_never_reads_test_data(minilm, monkeypatch):
    texts, labels = flatten(TRAIN)
    test_texts, _ = flatten(TEST)
    seen: list[str] = []
    real_fit, real_predict = Method.fit, Method.predict_proba

    def spy_fit(self, xs, *args, **kwargs):
        seen.extend(xs)
        return real_fit(self, xs, *args, **kwargs)

    def spy_predict(self, xs):
        seen.extend(xs)
        return real_predict(self, xs)

    monkeypatch.setattr(Method, "fit", spy_fit)
    monkeypatch.setattr(Method, "predict_proba", spy_predict)
    clf = make_method("auto", backbone=minilm, candidates=FAST)
    clf.fit(texts, labels)
    assert seen and set(seen) <= set(texts)  # every text any candidate fitted on or predicted was a training one
    assert not set(seen) & set(test_texts)


def test_auto_skips_a_candidate_that_cannot_run_on_the_folds_and_says_why(minilm):
    texts, labels = flatten({k: v[:2] for k, v in TRAIN.items()})  # 2 per label: 2 folds of 1 per label
    clf = make_method("auto", backbone=minilm, candidates=["zero-shot", "contrastive"], min_cv_per_label=0)
    clf.fit(texts, labels)
    assert clf.choice["chosen"] == "zero-shot" and clf.choice["folds"] == 2
    assert "two labels with two or more examples" in clf.choice["candidates"]["contrastive"]["skipped"]


QUICK_TUNING = {"min_steps": 4, "steps_per_label": 0, "batch_size": 8}


def test_the_reason_names_the_label_with_the_fewest_examples_only_when_the_labels_differ():
    from agileclf.methods.auto import fewest_examples

    assert fewest_examples(["a"] * 10 + ["b"] * 10) == "10 example(s) per label"
    assert fewest_examples(["a"] * 10 + ["c"] * 3 + ["b"] * 3) == "3 example(s) of 'b'"


def test_with_few_examples_per_label_auto_takes_the_tuned_candidate_without_cross_validating(minilm, monkeypatch):
    import agileclf.evaluate.crossval as crossval

    def no_cv(*args, **kwargs):
        raise AssertionError("auto cross-validated below min_cv_per_label")

    monkeypatch.setattr(crossval, "cross_val_proba", no_cv)
    texts, labels = flatten(TRAIN)  # 4 per label
    candidates = ["zero-shot", "contrastive", "linear-probe"]
    clf = make_method("auto", backbone=minilm, candidates=candidates, candidate_params=QUICK_TUNING).fit(texts, labels)
    choice = clf.choice
    assert choice["chosen"] == "contrastive" and choice["folds"] == 0  # the last candidate that tunes the backbone
    assert "4 example(s) per label, under min_cv_per_label=20" in choice["reason"]
    assert clf.bench_info["auto_cv_accuracy"] is None
    assert {"c", "steps", "anchors"} <= set(clf.fit_choices())  # the bench row's "fitted": the winner's choices
    from agileclf.methods.auto import describe_choice

    line = describe_choice(choice)
    assert line.startswith("auto chose contrastive (") and "out-of-fold" not in line


def test_a_tuned_candidate_that_cannot_fit_falls_back_to_the_contest(minilm):
    texts, labels = flatten({k: v[:1] for k, v in TRAIN.items()})  # one per label: contrastive has no pairs
    clf = make_method("auto", backbone=minilm, candidates=["zero-shot", "contrastive"], candidate_params=QUICK_TUNING)
    clf.fit(texts, labels)
    assert clf.choice["chosen"] == "zero-shot" and clf.choice["folds"] == 0
    assert "two labels with two or more examples" in clf.choice["candidates"]["contrastive"]["skipped"]


def test_enough_examples_per_label_keep_the_contest(minilm):
    texts, labels = flatten(TRAIN)
    quick = {**QUICK_TUNING, "min_steps": 2}
    clf = make_method("auto", backbone=minilm, candidates=["zero-shot", "contrastive"], min_cv_per_label=4,
                      candidate_params=quick).fit(texts, labels)  # fmt: skip
    assert clf.choice["folds"] == 3 and "cv_accuracy" in clf.choice["candidates"]["contrastive"]


def opaque_intents() -> tuple[list[str], list[str]]:
    """12 examples of each of three intents under names that say nothing (zero-shot guesses), for racing."""
    forms = {
        "x1": (["will it rain {}", "how cold is it {}", "is snow expected {}", "what is the forecast {}"],
               ["today", "tomorrow", "tonight"]),
        "x2": (["play some {}", "put on {} music", "skip this {} song", "turn up the {}"], ["jazz", "rock", "pop"]),
        "x3": (["wake me at {}", "set an alarm for {}", "cancel the {} alarm", "snooze the {} alarm"],
               ["six", "seven", "eight"]),
    }  # fmt: skip
    return flatten({label: [f.format(w) for f in fs for w in words] for label, (fs, words) in forms.items()})


def record_fits(monkeypatch) -> list[tuple[str, int]]:
    """(method name, number of examples) of every fit from here on, in order."""
    fits = []
    real_fit = Method.fit

    def counting_fit(self, xs, *args, **kwargs):
        fits.append((self.name, len(xs)))
        return real_fit(self, xs, *args, **kwargs)

    monkeypatch.setattr(Method, "fit", counting_fit)
    return fits


def test_a_tuned_candidate_clearly_ahead_on_its_first_fold_skips_its_other_folds(minilm, monkeypatch, tmp_path):
    texts, labels = opaque_intents()
    quick = {**QUICK_TUNING, "anchors": 0}
    fits = record_fits(monkeypatch)
    params = {"candidates": ["zero-shot", "contrastive"], "min_cv_per_label": 0, "candidate_params": quick}
    clf = make_method("auto", backbone=minilm, **params).fit(texts, labels)
    report = clf.choice["candidates"]["contrastive"]
    assert clf.choice["chosen"] == "contrastive" and report["cv_rows"] == 12  # one fold of 36 rows scored
    assert clf.choice["reason"].startswith("ahead of zero-shot on the first fold's 12 rows")
    assert "McNemar p=" in report["race"] and "other folds were not run" in clf.choice["reason"]
    assert [f for f in fits if f[0] == "contrastive"] == [("contrastive", 24)]  # one fold's tuning, no refit
    assert "first fold's tuned encoder (24 of the 36 examples) is kept" in clf.choice["reason"]
    assert clf.chosen.train_size == 36  # its head saw every example
    assert report["cv_accuracy"] > clf.choice["candidates"]["zero-shot"]["cv_accuracy"]
    from agileclf.methods.auto import describe_choice

    assert "contrastive " in describe_choice(clf.choice) and "(first fold, 12 rows)" in describe_choice(clf.choice)
    clf.save(tmp_path / "raced")
    np.testing.assert_allclose(load_classifier(tmp_path / "raced").predict_proba(texts), clf.predict_proba(texts),
                               atol=1e-5)  # fmt: skip
    fits.clear()
    refitted = make_method("auto", backbone=minilm, refit="all", **params).fit(texts, labels)
    assert [n for n, _ in fits].count("contrastive") == 2 and refitted.chosen.steps  # the fold's tuning and a refit
    assert "refit=head" not in refitted.choice["reason"]  # race=0 (every fold): the soup test below


def test_refit_soup_averages_every_tuned_folds_encoder_and_refits_the_head(minilm, monkeypatch, tmp_path):
    texts, labels = opaque_intents()
    untuned = next(minilm.model.parameters()).detach().clone()
    tuned = []  # each contrastive fit's first encoder weight, as the fit left it
    real_fit = Method.fit

    def recording_fit(self, xs, *args, **kwargs):
        fitted = real_fit(self, xs, *args, **kwargs)
        if self.name == "contrastive":
            tuned.append(next(self.backbone.model.parameters()).detach().clone())
        return fitted

    monkeypatch.setattr(Method, "fit", recording_fit)
    params = {"candidates": ["zero-shot", "contrastive"], "min_cv_per_label": 0, "race": 0,
              "candidate_params": {**QUICK_TUNING, "anchors": 0}}  # fmt: skip
    clf = make_method("auto", backbone=minilm, refit="soup", **params).fit(texts, labels)
    assert clf.choice["chosen"] == "contrastive" and len(tuned) == 3  # race=0: the three folds, no fourth tuning
    assert "cv_rows" not in clf.choice["candidates"]["contrastive"]  # scored on every fold's rows
    assert "its 3 folds' tuned encoders are averaged into one and its head refitted" in clf.choice["reason"]
    souped = next(clf.chosen.backbone.model.parameters())
    torch.testing.assert_close(souped, torch.stack(tuned).mean(0))
    assert not torch.equal(souped, tuned[0]) and clf.chosen.train_size == 36
    assert torch.equal(next(minilm.model.parameters()), untuned)  # the shared backbone is untouched
    clf.save(tmp_path / "souped")
    np.testing.assert_allclose(load_classifier(tmp_path / "souped").predict_proba(texts), clf.predict_proba(texts),
                               atol=1e-5)  # fmt: skip


def test_a_winner_with_a_jointly_tuned_head_is_refitted_not_given_a_new_head(minilm, monkeypatch):
    texts, labels = opaque_intents()
    fits = record_fits(monkeypatch)
    quick = {**QUICK_TUNING, "anchors": 0, "end_to_end": 1}  # SetFit's second phase tunes the head with the encoder
    clf = make_method("auto", backbone=minilm, candidates=["zero-shot", "contrastive"], min_cv_per_label=0,
                      candidate_params=quick).fit(texts, labels)  # fmt: skip
    assert clf.choice["chosen"] == "contrastive" and "refit=" not in clf.choice["reason"]
    assert [f for f in fits if f[0] == "contrastive"] == [("contrastive", 24), ("contrastive", 36)]


def test_the_race_decides_only_on_a_clear_first_fold():
    from agileclf.evaluate.crossval import CrossValResult
    from agileclf.methods.auto import Auto, AutoConfig

    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    wrong = np.eye(2)[1 - y]
    lead = CrossValResult(wrong, ["a", "b"], ["a", "b"] * 5, np.zeros(10, dtype=int), 0.0)  # all wrong
    auto = Auto.__new__(Auto)
    auto.config = AutoConfig(race=0.05)
    rows = np.arange(10)
    verdict: dict = {}
    assert auto._race("zero-shot", lead, y, verdict)(0, rows, np.eye(2)[y]) and verdict["outcome"] == "ahead"
    assert "10 right where zero-shot was wrong, 0 the other way" in verdict["line"]
    verdict = {}
    assert not auto._race("zero-shot", lead, y, verdict)(1, rows, np.eye(2)[y]) and not verdict  # one look only
    close = np.eye(2)[np.where(np.arange(10) < 4, y, 1 - y)]  # 4 discordant rows: p = 0.125
    assert not auto._race("zero-shot", lead, y, verdict)(0, rows, close) and not verdict
    verdict = {}
    assert auto._race("zero-shot", CrossValResult(np.eye(2)[y], ["a", "b"], [], np.zeros(10, dtype=int), 0.0), y,
                      verdict)(0, rows, wrong) and verdict["outcome"] == "behind"  # fmt: skip
