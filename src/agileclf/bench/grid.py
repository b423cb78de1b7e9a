"""What a benchmark runs: datasets, methods, peers, shots and seeds, from flags or a TOML file."""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agileclf.errors import ConfigError

SPLITS = ("test", "dev")
D = TypeVar("D")  # a dataset type with .texts and .subset (single- or multi-label)


@dataclass(frozen=True)
class DatasetSpec:
    """A folder with train.jsonl and test.jsonl (and dev.jsonl, optional); `name` defaults to the folder's name.

    `dev_rows` (for a set that ships no dev.jsonl): that many rows of train.jsonl, drawn with a fixed seed, are its
    dev split and leave the training pool, whichever split a grid scores (see carve_dev). `labels`: a labels file
    ({label: description}, as `agileclf train --labels`) whose descriptions every agileclf method receives."""

    path: Path
    name: str = ""
    text_field: str = "text"
    label_field: str = "label"
    dev_rows: int = 0
    labels: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not self.name:
            object.__setattr__(self, "name", self.path.name)
        for split in ("train", "test"):
            if not (self.path / f"{split}.jsonl").is_file():
                raise ConfigError(f"dataset {self.path}: no {split}.jsonl there (a bench dataset is a folder)")
        if self.dev_rows < 0:
            raise ConfigError(f"dataset {self.path}: dev_rows must be >= 0, got {self.dev_rows}")
        if self.dev_rows and (self.path / "dev.jsonl").is_file():
            raise ConfigError(f"dataset {self.path}: it has a dev.jsonl; dev_rows is for sets that have none")
        if self.labels is not None:
            object.__setattr__(self, "labels", Path(self.labels))
            if not self.labels.is_file():
                raise ConfigError(f"dataset {self.path}: labels file {self.labels} does not exist")

    def descriptions(self, known: Iterable[str]) -> dict[str, str]:
        """The label descriptions from `labels`, or none; describing a label not in `known` (the training file's)
        is an error."""
        from agileclf.data.labels import read_label_descriptions

        descriptions = read_label_descriptions(self.labels) if self.labels else {}
        unknown = set(descriptions) - set(known)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ConfigError(f"{self.labels}: describes label(s) {names}, not in {self.name}'s train.jsonl")
        return descriptions

    @property
    def has_dev(self) -> bool:
        """A dev split to score: dev.jsonl, or rows carved from train.jsonl (dev_rows)."""
        return bool(self.dev_rows) or (self.path / "dev.jsonl").is_file()

    def load_splits(self, read: Callable[..., D], split: str) -> tuple[D, D]:
        """(training pool, scored rows) read with `read(path, text_field, label_field, scored=...)`: the scored rows
        are the test or dev file, or with `dev_rows` and split "dev" the rows carved from train.jsonl."""
        train = read(self.path / "train.jsonl", self.text_field, self.label_field, scored=False)
        if self.dev_rows:
            train, dev = carve_dev(train, self.dev_rows, self.path / "train.jsonl")
            if split == "dev":
                return train, dev
        return train, read(self.path / f"{split}.jsonl", self.text_field, self.label_field, scored=True)


def carve_dev(train: D, rows: int, path: Path) -> tuple[D, D]:
    """(pool, dev): `rows` of the training rows drawn with seed 0 become a dev split and leave the pool."""
    from agileclf.data.sampling import sample_rows

    if rows >= len(train.texts):
        raise ConfigError(f"{path}: dev_rows = {rows} leaves no training rows (it has {len(train.texts)})")
    dev = sample_rows(len(train.texts), rows, seed=0)
    carved = set(dev)
    return train.subset([i for i in range(len(train.texts)) if i not in carved]), train.subset(dev)


@dataclass(frozen=True)
class Cell:
    """One fit and evaluation: a method (or peer) on one dataset's sample of `shots` per class, drawn by `seed`."""

    dataset: str
    method: str
    peer: bool
    shots: int
    seed: int
    augmented: bool = False  # trained on the sample plus synthetic rows written from it (agileclf.synth)

    @property
    def name(self) -> str:
        """The method as results name it: 'lora+synthetic' for an augmented variant."""
        return f"{self.method}+synthetic" if self.augmented else self.method

    @property
    def key(self) -> tuple:
        return (self.dataset, self.name, self.shots, self.seed)


@dataclass
class BenchGrid:
    """The grid; method_params / peer_params give per-name parameters (e.g. {"setfit": {"num_iterations": 20}}).

    `methods=None` runs every method that applies (see applicable_methods); `eval_split="dev"` scores every cell
    on the datasets' dev.jsonl instead of test.jsonl, for choosing defaults without reading a test split.
    """

    datasets: list[DatasetSpec]
    methods: list[str] | None = None
    peers: list[str] = field(default_factory=list)
    shots: list[int] = field(default_factory=lambda: [8])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    max_test: int = 0
    method_params: dict[str, dict] = field(default_factory=dict)
    peer_params: dict[str, dict] = field(default_factory=dict)
    # augmented variants: these methods again on the sample + `synthetic_per_class` synthetic rows per class,
    # written from the sample by `writer` (a causal LM folder; default: the bench backbone)
    augmented: list[str] = field(default_factory=list)
    synthetic_per_class: int = 21
    synthetic_params: dict = field(default_factory=dict)
    writer: str | None = None
    # shots at which the augmented variants run (empty: all), so "4 real + 21 synthetic" sits beside "25 real"
    augmented_shots: list[int] = field(default_factory=list)
    eval_split: str = "test"
    # this grid's backbone (a folder or a bundled name such as smollm2-135m); --backbone on the command line wins
    backbone: str | None = None

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ConfigError("bench needs at least one dataset (--data DIR)")
        if self.methods is not None and not self.methods and not self.peers and not self.augmented:
            raise ConfigError("bench needs at least one method or peer")
        if self.max_test < 0:
            raise ConfigError(f"max_test must be >= 0 (0: the whole test set), got {self.max_test}")
        if self.eval_split not in SPLITS:
            raise ConfigError(f"eval_split must be one of {', '.join(SPLITS)}, not {self.eval_split!r}")
        if self.eval_split == "dev":
            for spec in self.datasets:
                if not spec.has_dev:
                    raise ConfigError(
                        f"dataset {spec.path}: no dev.jsonl there, so it cannot be evaluated on a dev split "
                        "(dev_rows = N in its [[data]] table carves one from train.jsonl)"
                    )
        if any(s < 1 for s in self.shots):
            raise ConfigError(f"shots must be >= 1, got {self.shots}")
        missing = sorted(set(self.augmented_shots) - set(self.shots))
        if self.augmented_shots and missing:
            raise ConfigError(f"augmented shots {missing} are not among the grid's shots {self.shots}")
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise ConfigError(f"two datasets share a name: {names}")

    def cells(self) -> Iterator[Cell]:
        """Cells grouped so one (dataset, shots, seed) sample is drawn once and shared by every method and peer."""
        for spec in self.datasets:
            for shots in self.shots:
                for seed in self.seeds:
                    for method in self.methods or []:
                        yield Cell(spec.name, method, False, shots, seed)
                    for method in self.augmented if shots in (self.augmented_shots or [shots]) else []:
                        yield Cell(spec.name, method, False, shots, seed, augmented=True)
                    for peer in self.peers:
                        yield Cell(spec.name, peer, True, shots, seed)


def _file_types(cls: type, renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """What a TOML file may give each field of the dataclass `cls`, read from its annotations: "integers" or
    "strings" (a list, or one value standing for a list of one), int, str (also for paths) or dict; `renamed`
    gives fields their file key (BenchGrid's `datasets` are the file's [[data]] tables)."""
    renamed = renamed or {}
    types = {}
    for name, hint in typing.get_type_hints(cls).items():
        optional = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = optional[0] if type(None) in typing.get_args(hint) else hint  # X | None: the file gives an X
        origin = typing.get_origin(hint) or hint
        if origin is list:
            kind = {int: "integers", str: "strings"}.get(typing.get_args(hint)[0], list)
        else:
            kind = origin if origin in (int, dict) else str  # a Path is written as a string
        types[renamed.get(name, name)] = kind
    return types


# the type of every key a grid file may hold (data: a list of [[data]] tables, checked by _dataset_spec)
GRID_KEY_TYPES = _file_types(BenchGrid, {"datasets": "data"})
GRID_KEYS = set(GRID_KEY_TYPES)
DATA_KEY_TYPES = _file_types(DatasetSpec)


def applicable_methods(kind: str) -> list[str]:
    """The methods a bench runs by default on a backbone of `kind`: those registered for that kind that learn
    from texts and labels alone (not `multitask`, which needs slot tags or a label hierarchy) on that backbone
    alone (not `ensemble`, whose default pair loads a second model)."""
    from agileclf.methods.registry import method_classes, method_names

    classes = [method_classes(name).get(kind) for name in method_names()]
    return [c.name for c in classes if c and c.fits_from_labels_alone and not c.loads_other_backbones]


def load_grid_file(path: str | Path) -> list[dict]:
    """Read a TOML grid file into keyword arguments for BenchGrid, one dict per grid (datasets as [[data]] tables).

    A file may hold several `[[grid]]` tables that share its top-level keys (a table's own keys win), for a
    comparison whose parts differ, e.g. four sets at 8 shots x 5 seeds and three of them at 64 shots x 3 seeds.
    """
    import tomllib

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the grid file ({err})") from None
    parts = raw.pop("grid", [{}])
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise ConfigError(f"{path}: `grid` must be one or more [[grid]] tables")
    grids = []
    for number, part in enumerate(parts, 1):
        where = f"{path}, [[grid]] number {number}" if len(parts) > 1 or part else str(path)
        unknown = (set(raw) | set(part)) - GRID_KEYS
        if unknown:
            known = ", ".join(sorted(GRID_KEYS | {"grid"}))
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {known}")
        merged = {key: _typed(key, value, GRID_KEY_TYPES[key], where) for key, value in {**raw, **part}.items()}
        for key in ("method_params", "peer_params", "synthetic_params"):  # tables merge name by name
            if key in raw and key in part:
                merged[key] = {**raw[key], **part[key]}
        grid = {k: v for k, v in merged.items() if k != "data"}
        grid["datasets"] = [_dataset_spec(d, path.parent, where) for d in merged.get("data", [])]
        grids.append(grid)
    return grids


def _typed(key: str, value: Any, kind: Any, where: str) -> Any:
    """A grid file's value if it has the key's type (one integer or name stands for a list of one), else a
    ConfigError naming the file, the key and what it holds."""

    def holds(v: Any, t: type) -> bool:
        return isinstance(v, t) and not isinstance(v, bool)  # TOML's true is a Python int too

    if kind in ("integers", "strings"):
        item = int if kind == "integers" else str
        value = [value] if holds(value, item) else value
        if isinstance(value, list) and all(holds(v, item) for v in value):
            return value
        wanted = f"a list of {'integers' if item is int else 'names'}, e.g. {[8, 64] if item is int else ['auto']}"
    elif holds(value, kind):
        return value
    else:
        wanted = {int: "an integer", str: "a string", dict: "a table", list: "a list of tables"}[kind]
    raise ConfigError(f"{where}: `{key}` must be {wanted}, not {value!r}")


def _dataset_spec(table: dict, base: Path, where: str) -> DatasetSpec:
    known = set(DATA_KEY_TYPES)
    if isinstance(table, str):  # data = ["../data/sst2"]: a path alone
        table = {"path": table}
    if not isinstance(table, dict) or "path" not in table or set(table) - known:
        raise ConfigError(f"{where}: a [[data]] table needs `path` and may have {', '.join(sorted(known - {'path'}))}")
    table = {
        key: _typed(key, value, DATA_KEY_TYPES[key], f"{where}, [[data]] {table['path']!r}")
        for key, value in table.items()
    }
    paths = {key: base / table[key] for key in ("path", "labels") if key in table}  # relative to the config file
    return DatasetSpec(**{**table, **paths})


def grid_spec(grid: dict[str, Any], params: dict[str, dict[str, Any]]):
    """One BenchGrid from its keyword values, checked (unknown methods and peers fail before any cell runs)."""
    from agileclf.bench.peers import PEER_NAMES
    from agileclf.bench.runner import base_method
    from agileclf.methods.registry import method_classes
    from agileclf.params import literal

    grid = dict(grid)
    grid.setdefault("datasets", [])  # no methods given: run_grid runs those that apply to the backbone
    unknown = set(grid.get("peers", [])) - set(PEER_NAMES)
    if unknown:
        raise ConfigError(f"unknown peer(s) {', '.join(sorted(unknown))}; available: {', '.join(PEER_NAMES)}")
    for name in [*(grid.get("methods") or []), *grid.get("augmented", [])]:
        method_classes(base_method(name))  # an unknown method fails now, not after an hour of other cells
    for name, values in params.items():
        if name == "synthetic":
            grid["synthetic_params"] = {**grid.get("synthetic_params", {}), **values}
            continue
        peer = name.partition("@")[0] in PEER_NAMES
        values = {k: literal(v) for k, v in values.items()} if peer else values  # methods convert strings
        key = "peer_params" if peer else "method_params"
        table = grid.get(key, {})
        grid[key] = {**table, name: {**table.get(name, {}), **values}}
    return BenchGrid(**grid)
