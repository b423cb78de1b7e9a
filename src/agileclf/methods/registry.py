"""Method registry: a module registers its class with @register; the CLI and loader look methods up here."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import types
import typing
from typing import Any

from agileclf.errors import ConfigError
from agileclf.methods.base import Method, MethodConfig

_REGISTRY: dict[str, dict[str, type[Method]]] = {}
# Variants of a method for another task (`multilabel`): same user-facing name, chosen by `--task`.
_TASK_REGISTRY: dict[str, dict[str, dict[str, type[Method]]]] = {}
_discovered = False


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available under `cls.name` for each kind in `cls.kinds` (and its task)."""
    registry = _REGISTRY if cls.task == "label" else _TASK_REGISTRY.setdefault(cls.task, {})
    for kind in cls.kinds:
        existing = registry.setdefault(cls.name, {}).get(kind)
        if existing is not None and existing is not cls:
            raise RuntimeError(f"method '{cls.name}' for {kind} registered twice ({existing} and {cls})")
        registry[cls.name][kind] = cls
    return cls


def _discover() -> None:
    """Import every module under agileclf.methods, so adding a module is all it takes to add a method."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import agileclf.methods as package

    for info in pkgutil.walk_packages(package.__path__, prefix="agileclf.methods."):
        importlib.import_module(info.name)


def method_names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def method_classes(name: str) -> dict[str, type[Method]]:
    """The implementations of one method, by backbone kind."""
    _discover()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown method '{name}'; available: {', '.join(method_names())}")
    return dict(_REGISTRY[name])


# What `train` fits when no method is named: `auto` picks by cross-validation on the examples; label lists have no
# `auto`, and contrastive won the out-of-fold contest on every GoEmotions sample (docs/multilabel.md); the joint
# tasks (intent, slots, label+parent) have one method.
DEFAULT_METHODS = {"label": "auto", "multilabel": "contrastive"}


def default_method(task: str) -> str:
    """The method for `task` when the user names none."""
    return DEFAULT_METHODS.get(task, "multitask")


def task_method_names(task: str) -> list[str]:
    """Methods that have a variant for `task` ('label': all)."""
    _discover()
    return method_names() if task == "label" else sorted(_TASK_REGISTRY.get(task, {}))


def task_method_classes(task: str, name: str) -> dict[str, type[Method]]:
    """The implementations of one method for `task` (e.g. 'multilabel'), by backbone kind."""
    _discover()
    if task == "label":
        return method_classes(name)
    variants = _TASK_REGISTRY.get(task, {})
    if name not in variants:
        raise ConfigError(f"method '{name}' has no {task} variant; {task} methods: {', '.join(sorted(variants))}")
    return dict(variants[name])


def method_class(name: str, kind: str, task: str = "label") -> type[Method]:
    """The implementation of `name` for a backbone of `kind` (and `task`), or an error saying which kinds it takes."""
    classes = task_method_classes(task, name)
    if kind not in classes:
        raise ConfigError(
            f"method '{name}' does not work with a {kind} backbone; it takes: {', '.join(sorted(classes))}"
        )
    return classes[kind]


def make_method(name: str, backbone: Any = None, **params: Any) -> Method:
    """Build a method by name for a backbone (a path, a loaded backbone, or None for the bundled MiniLM)."""
    from agileclf.backbones import load_backbone

    method_classes(name)  # a clear error for an unknown name before any model loads
    backbone = load_backbone(backbone)
    cls = method_class(name, backbone.kind)
    return cls(backbone=backbone, config=build_config(cls.config_class, params))


def parameters_taken(name: str, kind: str) -> set[str]:
    """The parameter names method `name` takes on a backbone of `kind` (for parameters shared by several methods)."""
    return {f.name for f in dataclasses.fields(method_class(name, kind).config_class)}


def shared_params_taken(shared: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    """The part of `shared` (auto's candidate_params, an ensemble's member_params) that method `name` takes."""
    taken = parameters_taken(name, kind)
    return {key: value for key, value in shared.items() if key in taken}


def check_shared_params_taken(
    field: str, shared: dict[str, Any], methods: list[tuple[str, str]], role: str, listed: list[str]
) -> None:
    """Fail on a key of `shared` that none of `methods` ((name, backbone kind) pairs, shown as `listed`) takes."""
    taken = set().union(*(parameters_taken(name, kind) for name, kind in methods))
    unused = sorted(set(shared) - taken)
    if unused:
        raise ConfigError(f"{field} {', '.join(unused)}: no {role} ({', '.join(listed)}) takes it")


def require_json_object(field: str, value: Any) -> None:
    """A shared-parameters field must be a JSON object; fail with its name otherwise."""
    if not isinstance(value, dict):
        raise ValueError(f"{field} must be a JSON object {{name: value}}, not {value!r}")


def check_method_params(name: str, backbone: Any, params: dict[str, Any]) -> None:
    """Fail on an unknown method, a backbone it does not take, or a bad parameter before any model loads (the
    backbone's kind is read from its config). It imports every method (seconds), so train_from_file reads the data
    files first: their errors come at once."""
    from agileclf.backbones.kinds import backbone_kind

    build_config(method_class(name, backbone_kind(backbone)).config_class, params)


def make_task_method(task: str, name: str, backbone: Any = None, **params: Any) -> Method:
    """make_method for a task's variant: `make_task_method("multilabel", "linear-probe", backbone)`."""
    from agileclf.backbones import load_backbone

    task_method_classes(task, name)
    backbone = load_backbone(backbone)
    cls = method_class(name, backbone.kind, task)
    return cls(backbone=backbone, config=build_config(cls.config_class, params))


def build_config(config_class: type[MethodConfig], params: dict[str, Any]) -> MethodConfig:
    """The config dataclass from keyword values (strings are converted to the field's type)."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = set(params) - set(fields)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(sorted(unknown))}; this method takes: {', '.join(fields)}")
    hints = typing.get_type_hints(config_class)
    values = {name: coerce(name, value, hints[name]) for name, value in params.items()}
    try:
        return config_class(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None


def coerce(name: str, value: Any, hint: Any) -> Any:
    """Convert a CLI string to the field's type (int, float, bool, str, list, or an optional of these)."""
    if not isinstance(value, str):
        return value
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if is_union:
        if value.lower() in ("none", "null", ""):
            return None
        for arg in args:
            try:
                return coerce(name, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"parameter {name}: cannot read {value!r} as {hint}")
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint in (int, float, str):
            return hint(value)
        if origin in (list, tuple):
            (item,) = typing.get_args(hint)[:1] or (str,)
            items = [coerce(name, v.strip(), item) for v in value.split(",") if v.strip()]
            return origin(items)
        if hint is dict or origin is dict:  # a JSON object, e.g. auto's candidate_params
            parsed = json.loads(value)
            if not isinstance(parsed, dict):
                raise ValueError
            return parsed
    except ValueError:  # json.JSONDecodeError is one
        raise ConfigError(f"parameter {name}: cannot read {value!r} as {getattr(hint, '__name__', hint)}") from None
    return value


def describe_config(config_class: type[MethodConfig]) -> list[tuple[str, str, str]]:
    """(name, default, help) for each field, for `agileclf methods`."""
    rows = []
    for f in dataclasses.fields(config_class):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append((f.name, repr(default), f.metadata.get("help", "")))
    return rows
