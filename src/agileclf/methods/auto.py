"""`auto`: the method (and its key parameters) chosen by cross-validation on the user's examples.

Each candidate is cross-validated on the examples (evaluate.crossval, stratified folds), the one with the best
out-of-fold accuracy wins (ties: lower out-of-fold log-loss, then the cheaper candidate, in listed order), and it
is refitted on all examples (or only its head, below). With fewer than `min_cv_per_label` examples of some label,
a candidate that tunes the backbone is not judged by cross-validation: its fold models learn from two thirds of a
handful of examples and are scored on the rest, which on sst2's 8-shot samples (linear-probe) misses their
accuracy on unseen rows by 17 points (one SD) either way (docs/setfit-comparison.md, "`auto` without a contest"),
so the last such candidate (the most capable) is fitted on all examples without a contest.
A candidate that tunes the backbone is raced: after its first fold, an exact McNemar test on that fold's rows
against the leading candidate's predictions of the same rows settles it when p < `race` (ahead: it leads without
its other folds; behind: it is out), so a clear contest costs one fold's tuning instead of three (trec 64 shots:
334 against 598 CPU s with the refit, the same choice; docs/setfit-comparison.md, "Racing"). A winner that can
(`contrastive`) keeps its first fold's tuned encoder and refits only its head on all examples (`refit=head`): on
64-shot dev rows no worse than a second tuning on every set (trec -0.4 [-1.6, +0.7], sst2 +0.0, ag_news +0.8;
benchmarks/auto_fold_reuse_dev.py); any other winner is refitted on all examples. `refit=soup` averages every tuned
fold's encoder instead (not the default: ag_news -0.7 [-1.6, +0.2] against refit=head on 64-shot dev rows, sst2 and
trec +0.4; benchmarks/auto_fold_soup_dev.py).
Key parameters are chosen inside each candidate the same way (prior-probe's prior weight and C, contrastive's head
C), and a temperature is fitted on the winner's out-of-fold probabilities (kept where a cross-fitted check lowers
log-loss). Nothing here sees anything but the training examples.

The fitted `auto` is its winner: it predicts, saves and loads as that method, and its agileclf.json records
what was chosen and the cross-validation estimate under "auto".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agileclf.errors import AgileclfError, ConfigError
from agileclf.evaluate.crossval import CrossValResult, smallest_label
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.registry import (
    check_shared_params_taken,
    register,
    require_json_object,
    shared_params_taken,
)

# contrastive's 3 folds are 3 encoder tunings, 1 when its first fold settles the race (only the head is refitted;
# 30-100 s each on 16-48 examples on 2 cores; one below min_cv_per_label); without it auto is frozen-encoder only,
# which on trec 8-shot seed 0 chose prior-probe at 53.8% test accuracy where contrastive and SetFit reach the 70s.
DEFAULT_CANDIDATES = ["zero-shot", "prior-probe", "contrastive"]
# on a causal LM: full fine-tuning at its defaults beat LoRA on SmolLM2-135M's 8-shot dev rows (TREC +2.7 [+0.5,
# +4.8], AG News +1.3, SST-2 +0.5; benchmarks/causal_finetune_dev.py), so it is the last (most capable) candidate on
# a model that small; a larger model keeps LoRA, since AdamW on every weight needs about 16 bytes per parameter and
# saves the whole model (517 MiB for SmolLM2). ICL and prompt tuning can be added with -p candidates=...
CAUSAL_CANDIDATES = ["zero-shot", "lora", "finetune"]
FULL_FINETUNE_MAX_PARAMETERS = 400_000_000  # measured at 135M; 400M trains in about 6.4 GB
REFITS = ("soup", "head", "all")


@dataclass
class AutoConfig(MethodConfig):
    candidates: list[str] = param(
        [],
        "methods to cross-validate, cheapest first (ties go to it); default: zero-shot,prior-probe,contrastive "
        "on an encoder, zero-shot,lora,finetune on a causal LM (finetune only up to 400M parameters)",
    )
    candidate_params: dict = param({}, 'parameters for every candidate that takes them, e.g. {"verbalizer": "w.json"}')
    folds: int = param(3, "cross-validation folds on the examples (capped by the smallest label's count)")
    min_cv_per_label: int = param(
        20,
        "with fewer examples than this in some label, the last candidate that tunes the backbone is taken without "
        "cross-validation (which misjudges tuned models on so few examples); 0: always cross-validate",
    )

    race: float = param(
        0.05,
        "stop cross-validating a candidate that tunes the backbone after its first fold when a McNemar test on that "
        "fold's rows puts it ahead of (or behind) the leading candidate at this p-value; 0: always every fold",
    )

    refit: str = param(
        "head",
        "'head': a cross-validated winner that tunes the backbone keeps its first fold's tuned backbone and refits "
        "only its head on every example, one tuning fewer; 'soup': the same with the average of every tuned fold's "
        "backbone (the first fold's alone when the race ran one); 'all': the winner is fitted again on every example",
    )

    def __post_init__(self) -> None:
        require_json_object("candidate_params", self.candidate_params)
        if self.refit not in REFITS:
            raise ValueError(f"refit must be one of {', '.join(REFITS)}, got {self.refit!r}")
        if not 0 <= self.race < 1:
            raise ValueError(f"race must be a p-value in [0, 1), got {self.race}")
        if "auto" in self.candidates:
            raise ValueError("auto cannot be its own candidate")
        if self.folds < 2:
            raise ValueError(f"folds must be >= 2, got {self.folds}")


@register
class Auto(Method):
    """Cross-validates its candidates on the examples, refits the winner on all of them, and becomes it."""

    name = "auto"
    kinds = ("encoder", "causal-lm")
    config_class = AutoConfig

    @property
    def candidates(self) -> list[str]:
        """The configured candidates, else the default for the backbone's kind (and size, on a causal LM)."""
        if self.config.candidates:
            return list(self.config.candidates)
        if self.backbone.kind != "causal-lm":
            return list(DEFAULT_CANDIDATES)
        small = self.backbone.model.num_parameters() <= FULL_FINETUNE_MAX_PARAMETERS
        return [n for n in CAUSAL_CANDIDATES if n != "finetune" or small]

    def _candidate(self, name: str, calibration: str = "none") -> Method:
        from agileclf.methods.registry import make_method

        params = shared_params_taken(self.config.candidate_params, name, self.backbone.kind)
        return make_method(name, backbone=self.backbone, seed=self.config.seed, calibration=calibration, **params)

    def _tunes_backbone(self, name: str) -> bool:
        from agileclf.methods.registry import method_class

        return method_class(name, self.backbone.kind).tunes_backbone

    def _fold_models_kept(self, name: str, folds: int) -> int:
        """How many of this candidate's fold models the contest keeps: for refit=head the first one, for soup all,
        and none for refit=all or a candidate (or its configuration) that cannot refit its head alone (or average its
        tuned backbones)."""
        candidate = self._candidate(name)
        able = candidate.tunes_backbone and getattr(candidate, "refits_head_alone", False)
        if self.config.refit == "all" or not able or (self.config.refit == "soup" and not hasattr(candidate, "soup")):
            return 0
        return folds if self.config.refit == "soup" else 1

    def _check_candidates(self) -> None:
        """An unknown or unsuitable candidate, or a candidate parameter no candidate takes, fails before fitting."""
        for name in self.candidates:
            self._candidate(name)
        kinds = [(name, self.backbone.kind) for name in self.candidates]
        check_shared_params_taken("candidate_params", self.config.candidate_params, kinds, "candidate", self.candidates)

    def _fit(self, texts, y, valid) -> None:
        from agileclf.evaluate.crossval import cross_val_proba, fold_count
        from agileclf.methods.calibration import choose_temperature

        self._check_candidates()
        labels = [self.labels.names[i] for i in y]
        report: dict[str, dict] = {}
        if self._fit_without_contest(texts, labels, report):
            return
        unfit = set(report)  # candidates that could not fit on all the examples
        oof_of: dict[str, CrossValResult] = {}
        leader = None
        y = np.asarray(y)
        try:
            folds = fold_count(labels, self.config.folds)
        except AgileclfError as err:
            folds, no_cv = 0, str(err)
        for name in [n for n in self.candidates if n not in report] if folds else []:
            start = time.process_time()
            verdict: dict[str, str] = {}
            race = leader is not None and self.config.race > 0 and self._tunes_backbone(name)
            try:
                oof = cross_val_proba(
                    lambda name=name: self._candidate(name),
                    texts,
                    labels,
                    self.labels,
                    n_splits=folds,
                    seed=self.config.seed,
                    after_fold=self._race(leader, oof_of[leader], y, verdict) if race else None,
                    keep_models=self._fold_models_kept(name, folds),
                )
            except AgileclfError as err:  # e.g. contrastive without same-label pairs in a fold
                report[name] = {"skipped": str(err)}
                continue
            oof_of[name] = oof
            rows = oof.covered
            report[name] = _scores(oof.proba[rows], y[rows], self.labels.names)
            report[name]["cv_cpu_s"] = round(time.process_time() - start, 2)
            if verdict:  # its first fold decided it
                report[name] |= {"cv_rows": int(rows.sum()), "race": verdict["line"]}
            if verdict.get("outcome") == "behind":
                continue
            if leader is None or verdict.get("outcome") == "ahead" or _beats(oof, oof_of[leader], y, self.labels.names):
                leader = name
        if leader is not None:
            best = leader
            reason = report[best].get("race", f"best out-of-fold accuracy over {folds} folds")
        else:
            best = next((n for n in self.candidates if n != "zero-shot" and n not in unfit), self.candidates[0])
            reason = f"no candidate could be cross-validated ({no_cv if not folds else 'all skipped'}); first one"
        fold_models = oof_of[best].models if best in oof_of else []  # kept only where _fold_models_kept(best)
        if fold_models:
            self.chosen, kept = self._kept_fold_model(fold_models, oof_of[best].folds, len(texts))
            self.chosen.refit_head(texts, labels)
            reason += f"; {kept} and its head refitted on all of them (refit={self.config.refit})"
        else:
            self.chosen = self._candidate(best)
            self.chosen.fit(texts, labels, label_set=self.labels)
        if best in oof_of and self.config.calibration != "none":
            oof = oof_of[best]
            rows = oof.covered
            # one fold run (a raced winner): its rows' two halves stand in for folds in the cross-fitted check
            check_folds = oof.folds if rows.all() else np.arange(int(rows.sum())) % 2
            record = choose_temperature(self.config.calibration, oof.proba[rows], y[rows], check_folds)
            self.chosen.calibration = {**record, "source": "auto: the winner's out-of-fold probabilities"}
        self._record_choice(best, reason, folds, report)

    def _kept_fold_model(self, models: list[Method], folds: np.ndarray, n: int) -> tuple[Method, str]:
        """The fold model `auto` ships (refit=head: the first; soup: the tuned folds' backbones averaged into it) and
        what the reason says of it."""
        first = models[0]
        if self.config.refit == "soup" and len(models) > 1:
            return first.soup(models[1:]), f"its {len(models)} folds' tuned encoders are averaged into one"
        tuned_on = n - int((folds == 0).sum())
        return first, f"its first fold's tuned encoder ({tuned_on} of the {n} examples) is kept"

    def _race(self, leader: str, lead: CrossValResult, y: np.ndarray, verdict: dict) -> Callable:
        """`after_fold` for a candidate that tunes the backbone: after its first fold, a McNemar test (exact, on
        the rows it and the leader disagree on) against the leader's predictions of the same rows; a p-value under
        `race` decides it and stops its folds, recording the outcome in `verdict`. Racing, not a full contest:
        a tuned candidate costs a fold's tuning, and a clear first fold settles it (docs/setfit-comparison.md)."""
        from scipy.stats import binomtest

        def after_fold(fold: int, rows: np.ndarray, proba: np.ndarray) -> bool:
            if fold > 0 or not lead.covered[rows].all():  # one look: testing after every fold would inflate errors
                return False
            right = proba.argmax(axis=1) == y[rows]
            lead_right = lead.proba[rows].argmax(axis=1) == y[rows]
            ahead, behind = int((right & ~lead_right).sum()), int((~right & lead_right).sum())
            p = binomtest(ahead, ahead + behind, 0.5).pvalue if ahead + behind else 1.0
            if p >= self.config.race:
                return False
            outcome = "ahead" if ahead > behind else "behind"
            verdict["outcome"] = outcome
            verdict["line"] = (
                f"{outcome} {'of ' if outcome == 'ahead' else ''}{leader} on the first fold's {len(rows)} rows "
                f"({ahead} right where {leader} was wrong, {behind} the other way; McNemar p={p:.2g}), "
                "so its other folds were not run"
            )
            return True

        return after_fold

    def _record_choice(self, name: str, reason: str, folds: int, report: dict[str, dict]) -> None:
        """What was chosen and why, from the fitted `self.chosen` (agileclf.json's "auto", the bench row)."""
        self.choice = {
            "chosen": name,
            "reason": reason,
            "folds": folds,
            "candidates": report,
            "chosen_params": _key_params(self.chosen),
            "temperature": self.chosen.temperature,
        }

    def _fit_without_contest(self, texts: list[str], labels: list[str], report: dict[str, dict]) -> bool:
        """Below min_cv_per_label examples of some label: fit the last candidate that tunes the backbone on all the
        examples (its own calibration rules apply) and return True; a candidate that cannot run on these examples
        is recorded in `report` as skipped and the one before it is tried. False when none applies or none ran."""
        if smallest_label(labels)[0] >= self.config.min_cv_per_label:
            return False
        for name in reversed([n for n in self.candidates if self._tunes_backbone(n)]):
            candidate = self._candidate(name, calibration=self.config.calibration)
            try:
                candidate.fit(texts, labels, label_set=self.labels)
            except AgileclfError as err:  # e.g. contrastive without two labels of two examples each
                report[name] = {"skipped": str(err)}
                continue
            self.chosen = candidate
            reason = (
                f"{fewest_examples(labels)}, under min_cv_per_label={self.config.min_cv_per_label}: "
                "too few for cross-validation to judge a tuned backbone, so the last candidate that tunes one, "
                "without a contest"
            )
            self._record_choice(name, reason, 0, report)
            return True
        return False

    def fit_choices(self) -> dict:
        """The winner's own fitted choices (its C, anchors, ...): auto fits nothing else but the choice."""
        return self.chosen.fit_choices() if getattr(self, "chosen", None) is not None else {}

    def _calibrate(self, texts, labels, backbone) -> dict:
        return {"mode": "delegated", "temperature": 1.0}  # the winner carries its own temperature

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.chosen.predict_proba(texts)

    @property
    def bench_info(self) -> dict:
        """What the bench records beside the metrics of an `auto` cell."""
        best = self.choice["candidates"].get(self.choice["chosen"], {})
        described = self.choice["chosen"] + "".join(f", {k}={v}" for k, v in self.choice["chosen_params"].items())
        return {
            "auto_choice": described,
            "auto_cv_accuracy": best.get("cv_accuracy"),
            "auto_cv_log_loss": best.get("cv_log_loss"),
            "auto_candidates": self.choice["candidates"],
            "auto_reason": self.choice["reason"],
        }

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """Saved as the winner (it loads as that method), with what auto chose under "auto" in agileclf.json."""
        self._check_fitted()
        auto = {"params": dataclasses.asdict(self.config), **self.choice}
        return self.chosen.save(path, extra={"auto": auto, **(extra or {})})

    def _check_fitted(self) -> None:
        if getattr(self, "chosen", None) is None:
            raise ConfigError("this auto classifier is not fitted yet; call fit() or load a saved one")


def describe_choice(choice: dict) -> str:
    """One line for the user: the winner, its own parameters, and every candidate's CV accuracy."""
    params = ", ".join(f"{k}={v}" for k, v in choice["chosen_params"].items())
    scores = "; ".join(
        f"{name} {entry['cv_accuracy']:.3f}" + (f" (first fold, {entry['cv_rows']} rows)" if "cv_rows" in entry else "")
        if "cv_accuracy" in entry
        else f"{name} skipped ({entry['skipped']})"
        for name, entry in choice["candidates"].items()
    )
    head = f"auto chose {choice['chosen']}" + (f" ({params})" if params else "")
    if not choice["folds"]:
        return f"{head}: {choice['reason']}" + (f"; {scores}" if scores else "")
    return f"{head}: {choice['reason']}; out-of-fold accuracy: {scores or 'none'}"


def _key_params(method: Method) -> dict:
    """What the winner chose for itself from the examples (prior weight, C, anchors, ...) and its temperature."""
    chosen = method.fit_choices()
    if method.temperature != 1.0:
        chosen["temperature"] = round(method.temperature, 3)
    return chosen


def _scores(proba: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    """Accuracy and log-loss of out-of-fold probabilities, rounded as the report shows them."""
    from agileclf.evaluate.metrics import classification_metrics

    metrics = classification_metrics([names[i] for i in y], proba, list(names))
    return {"cv_accuracy": round(metrics["accuracy"], 4), "cv_log_loss": round(metrics["log_loss"], 4)}


def _beats(challenger: CrossValResult, leader: CrossValResult, y: np.ndarray, names: list[str]) -> bool:
    """Higher out-of-fold accuracy on the rows both have (ties: lower log-loss; full ties keep the leader, the
    cheaper candidate)."""
    rows = challenger.covered & leader.covered
    mine, theirs = (_scores(oof.proba[rows], y[rows], names) for oof in (challenger, leader))
    return (-mine["cv_accuracy"], mine["cv_log_loss"]) < (-theirs["cv_accuracy"], theirs["cv_log_loss"])


def fewest_examples(labels: list[str]) -> str:
    """'4 example(s) per label' when every label has as many, else the label with the fewest: '3 example(s) of 'b''."""
    smallest, label = smallest_label(labels)
    return f"{smallest} example(s) " + ("per label" if smallest * len(set(labels)) == len(labels) else f"of {label!r}")
