"""Request bodies of the JSON API (responses are plain dicts built in views.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LabelIn(BaseModel):
    name: str = Field(..., max_length=200, description="the label as the classifier will output it")
    description: str = Field("", max_length=20_000, description="what belongs here: a description or policy text")


class ClassifierIn(BaseModel):
    name: str = Field(..., max_length=200)
    description: str = Field("", max_length=20_000)
    labels: list[LabelIn] = Field(default_factory=list)


class ClassifierPatch(BaseModel):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20_000)


class LabelPatch(BaseModel):
    description: str = Field(..., max_length=20_000)


class ExampleIn(BaseModel):
    text: str
    label: str


class ExamplesIn(BaseModel):
    examples: list[ExampleIn] = Field(..., max_length=10_000)
    source: str = "typed"


class PasteIn(BaseModel):
    label: str = Field(..., description="every pasted line gets this label")
    text: str = Field(..., description="one example per line; blank lines are skipped")


class ExamplePatch(BaseModel):
    text: str | None = None
    label: str | None = None
    revision: int | None = Field(None, description="the revision you edited; a newer one on the server gives 409")


class TrainIn(BaseModel):
    method: str = Field("linear-probe", description="a method from GET /api/methods")
    params: dict[str, Any] = Field(default_factory=dict, description="method parameters, as `agileclf methods` lists")


class CompareIn(BaseModel):
    methods: list[str] = Field(..., min_length=1, max_length=10)


class PredictIn(BaseModel):
    texts: list[str] = Field(..., min_length=1, max_length=256)


class PoolIn(BaseModel):
    text: str = Field(..., description="unlabelled texts, one per line")


class PoolLabelIn(BaseModel):
    label: str


class ServeIn(BaseModel):
    port: int | None = Field(None, ge=1024, le=65535, description="default: a free port")


class SuggestIn(BaseModel):
    per_class: int = Field(4, ge=1, le=20, description="suggestions to keep per label")
    label_filter: bool = Field(True, description="keep only texts the language model itself labels as intended")
