"""The app's tables (SQLModel). The schema itself is created by the Alembic migrations in migrations/.

Examples hold their current state; every change to them or to the labels is also a row of `change`, grouped by
data version, so edits and undo are history, never overwrites. Model versions point at the data version they
learned from and at their artifact directory, which is never overwritten.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Classifier(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    description: str = ""
    data_version: int = 0  # bumped by every transaction that changes labels or examples
    created_at: datetime = Field(default_factory=utcnow)


class Label(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("classifier_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    name: str
    description: str = ""  # the description or policy text; zero-shot and prompting methods read it
    position: int = 0


class Example(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    text: str
    label: str
    source: str = "typed"  # typed, pasted, a file name, or "next" (labelled from the pool)
    revision: int = 1  # bumped on every edit; an edit naming an older revision is refused (409)
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Change(SQLModel, table=True):
    """One recorded change; all rows of one transaction share `version`."""

    __table_args__ = (UniqueConstraint("classifier_id", "version", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    version: int
    op: str  # add, edit, delete, restore, label-add, label-edit, undo
    entity: str  # example or label
    entity_id: int
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    undo_of: int | None = None  # the data version this change undid
    created_at: datetime = Field(default_factory=utcnow)


class ModelVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("classifier_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    number: int  # 1, 2, ... per classifier
    method: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    data_version: int
    n_examples: int
    data_sha256: str
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))  # cross-validated
    diagnostics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    test_metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    artifact_path: str
    fit_s: float = 0.0
    job_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    kind: str = Field(default="train", sa_column_kwargs={"server_default": "train"})  # train or suggest
    method: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = "queued"  # queued, running, done, failed, cancelled
    progress: float = 0.0
    message: str = "waiting for its turn"
    error: str | None = None
    cancel_requested: bool = False
    model_version_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class PoolText(SQLModel, table=True):
    """An unlabelled text waiting in "what to label next"."""

    id: int | None = Field(default=None, primary_key=True)
    classifier_id: int = Field(foreign_key="classifier.id", index=True)
    text: str
    suggested_label: str | None = None  # written by the synthetic-data pipeline for this label
    source: str = Field(default="pasted", sa_column_kwargs={"server_default": "pasted"})  # pasted, a file, suggested
    example_id: int | None = None  # set once it has been labelled
    created_at: datetime = Field(default_factory=utcnow)


JOB_ACTIVE = ("queued", "running")
