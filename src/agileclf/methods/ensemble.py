"""`ensemble`: several methods fitted on the same examples, on one backbone or several, their probabilities averaged.

A causal LM tuned on the label words and a sentence encoder tuned on pairs learn from the same handful of examples
by different roads and often err on different rows. On SmolLM2-135M, 8 shots, dev rows only
(benchmarks/ensemble_dev.py), averaging `finetune` on SmolLM2 with `contrastive` on MiniLM beat `finetune` alone on
TREC by +3.0 points [+1.0, +5.0] and on AG News by +1.8 [+0.1, +3.4], level on SST-2 (+0.1). The weights are equal:
nothing is chosen, so nothing can be over-fitted to a handful of examples.

A member is `name` (this classifier's backbone) or `name@backbone` (a folder or a bundled name: smollm2-135m,
bundled:all-MiniLM-L6-v2). The fitted ensemble saves each member as its own classifier directory under members/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agileclf.backbones.kinds import BUNDLED_MINILM, CAUSAL_LM
from agileclf.errors import ConfigError
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.registry import (
    check_shared_params_taken,
    method_classes,
    register,
    require_json_object,
    shared_params_taken,
)

MEMBERS_DIR = "members"
# the pair measured on SmolLM2-135M (module docstring), named from either side
CAUSAL_PAIR = ["finetune", f"contrastive@{BUNDLED_MINILM}"]
ENCODER_PAIR = ["contrastive", "finetune@smollm2-135m"]


@dataclass
class EnsembleConfig(MethodConfig):
    members: list[str] = param(
        [],
        "methods whose probabilities are averaged, each `name` (this backbone) or `name@backbone`; default: "
        f"{','.join(CAUSAL_PAIR)} on a causal LM, {','.join(ENCODER_PAIR)} on an encoder",
    )
    member_params: dict = param({}, 'parameters for every member that takes them, e.g. {"verbalizer": "w.json"}')

    def __post_init__(self) -> None:
        require_json_object("member_params", self.member_params)
        for spec in self.members:
            name = split_member(spec)[0]
            if name in ("ensemble", "auto"):
                raise ValueError(f"member {spec!r}: an ensemble's members are single methods, not {name}")
            method_classes(name)  # an unknown name fails here, before anything loads
        if len(self.members) == 1:
            raise ValueError(f"an ensemble needs at least 2 members, got {self.members}")


def split_member(spec: str) -> tuple[str, str | None]:
    """`name@backbone` -> (name, backbone); a bare `name` -> (name, None): the ensemble's own backbone."""
    name, _, backbone = spec.partition("@")
    return name.strip(), backbone.strip() or None


@register
class Ensemble(Method):
    """Fits every member on the examples and averages their probabilities with equal weights."""

    name = "ensemble"
    kinds = ("encoder", "causal-lm")
    config_class = EnsembleConfig
    tunes_backbone = True
    loads_other_backbones = True

    @property
    def member_specs(self) -> list[str]:
        """The configured members, else the measured pair seen from this backbone's kind."""
        if self.config.members:
            return list(self.config.members)
        return list(CAUSAL_PAIR if self.backbone.kind == CAUSAL_LM else ENCODER_PAIR)

    def _members(self) -> list[Method]:
        """Fresh, unfitted members; a backbone named by several members is loaded once."""
        from agileclf.backbones import load_backbone
        from agileclf.methods.registry import make_method

        loaded: dict[str, Any] = {}
        members, kinds = [], []
        for spec in self.member_specs:
            name, ref = split_member(spec)
            if ref is not None and ref not in loaded:
                loaded[ref] = load_backbone(ref)
            backbone = self.backbone if ref is None else loaded[ref]
            kinds.append((name, backbone.kind))
            params = shared_params_taken(self.config.member_params, name, backbone.kind)
            params = {"seed": self.config.seed, "calibration": self.config.calibration, **params}
            members.append(make_method(name, backbone=backbone, **params))
        check_shared_params_taken("member_params", self.config.member_params, kinds, "member", self.member_specs)
        return members

    def _fit(self, texts, y, valid) -> None:
        labels = [self.labels.names[i] for i in y]
        if valid is not None:
            valid = (valid[0], [self.labels.names[i] for i in valid[1]])
        self.members = self._members()
        for member in self.members:
            member.fit(texts, labels, valid=valid, label_set=self.labels)

    def _calibrate(self, texts, labels, backbone) -> dict:
        return {"mode": "delegated", "temperature": 1.0}  # each member is calibrated (its `calibration`) on its own

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.mean([member.predict_proba(texts) for member in self.members], axis=0).astype(np.float32)

    def fit_choices(self) -> dict:
        """Each member's own fitted choices (its C, anchors, updates, ...), by member."""
        if getattr(self, "members", None) is None:
            return super().fit_choices()
        return {"members": {spec: m.fit_choices() for spec, m in zip(self.member_specs, self.members, strict=True)}}

    def _save_files(self, directory: Path) -> None:
        for index, member in enumerate(self.members):
            member.save(directory / MEMBERS_DIR / f"{index}-{member.name}")

    def _load_files(self, directory: Path) -> None:
        from agileclf.methods.persistence import load_classifier

        specs = self.member_specs
        folders = {int(p.name.split("-", 1)[0]): p for p in (directory / MEMBERS_DIR).glob("[0-9]*-*")}
        if sorted(folders) != list(range(len(specs))):
            raise ConfigError(f"{directory}: member folders {sorted(folders)} do not match the members {specs}")
        self.members = [  # a member on the ensemble's own backbone gets the one this load was given
            load_classifier(folders[i], backbone=self.backbone if split_member(spec)[1] is None else None)
            for i, spec in enumerate(specs)
        ]

    def _check_fitted(self) -> None:
        if getattr(self, "members", None) is None or self.labels is None:
            raise ConfigError("this ensemble classifier is not fitted yet; call fit() or load a saved one")
