"""`key=value` parameters as the command line, grid files and the web app give them, parsed once."""

from __future__ import annotations

import json
from typing import Any

from agileclf.errors import ConfigError


def literal(value: Any) -> Any:
    """'20' -> 20, '0.5' -> 0.5, 'true' -> True, '[1, 2]' -> [1, 2]; anything else (or a non-string) stays."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def parse_params(pairs: list[str]) -> dict[str, str]:
    """['epochs=5', 'learning-rate=1e-5'] -> {'epochs': '5', 'learning_rate': '1e-5'} (values stay strings)."""
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        params[key.strip().replace("-", "_")] = value.strip()
    return params


def parse_named_params(pairs: list[str]) -> dict[str, dict[str, str]]:
    """`name.key=value` or `name@dataset.key=value` pairs into {name: {key: value}}."""
    table: dict[str, dict[str, str]] = {}
    for pair in pairs:
        target, _, rest = pair.partition(".")
        if not rest or "=" not in rest:
            raise ConfigError(f"--param expects name.key=value or name@dataset.key=value, got {pair!r}")
        table.setdefault(target, {}).update(parse_params([rest]))
    return table


def parse_list(value: str, cast: type = str) -> list:
    """'8,64' -> [8, 64] with cast=int."""
    try:
        return [cast(v.strip()) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"cannot read {value!r} as a comma-separated list of {cast.__name__}") from None
