"""Request and response bodies of the API, and the one JSON error shape every 4xx/5xx uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agileclf.serve.config import Limits


def classify_request_model(limits: Limits) -> type[BaseModel]:
    """The POST /v1/classify body, with this server's limits built in (so /docs shows them too)."""
    Text = Annotated[str, StringConstraints(strict=True, max_length=limits.max_text_chars)]

    class ClassifyRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        model: str | None = Field(
            None, description="name of a served classifier (see GET /v1/models); may be left out when one is served"
        )
        texts: list[Text] = Field(
            min_length=1, max_length=limits.max_texts, description="texts to classify, strings only"
        )
        top_k: int = Field(1, ge=1, le=limits.max_top_k, strict=True, description="most probable labels to list")
        threshold: float | None = Field(
            None, ge=0, le=1, description="multi-label models only: one decision threshold for every label, "
            "instead of the per-label thresholds and top ratio saved with the model",
        )  # fmt: skip

    return ClassifyRequest


class LabelScore(BaseModel):
    label: str
    probability: float


class TextResult(BaseModel):
    label: str = Field(description="the most probable label")
    probability: float = Field(description="its probability")
    top_k: list[LabelScore] = Field(description="the top_k most probable labels, most probable first")
    labels: list[str] | None = Field(
        None,
        description="multi-label models: the predicted label set (labels at or above their threshold and top ratio)",
    )
    probabilities: dict[str, float] | None = Field(
        None, description="multi-label models: every label's own probability (independent; they need not sum to 1)"
    )


class ClassifyResponse(BaseModel):
    model: str
    task: str = Field("label", description="label (one label per text) or multilabel (a set of labels per text)")
    results: list[TextResult] = Field(description="one result per text, in input order")


class ModelInfo(BaseModel):
    name: str
    method: str
    task: str = Field("label", description="label or multilabel")
    thresholds: dict[str, float] | None = Field(None, description="multi-label models: per-label thresholds")
    top_ratio: float | None = Field(
        None, description="multi-label models: a label also needs this fraction of its text's top probability (0: off)"
    )
    labels: list[str]
    backbone: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any] | None = Field(None, description="metrics recorded by `agileclf evaluate` or the demo")
    created: str | None = None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class ErrorDetail(BaseModel):
    field: str | None = Field(None, description="the offending field, e.g. texts[3]; null when none applies")
    message: str
    type: str


class ErrorBody(BaseModel):
    error: ErrorDetail
    errors: list[ErrorDetail] | None = Field(None, description="every problem found, when there are several")


def field_name(loc: tuple | list) -> str:
    """A pydantic location ('body', 'texts', 3) as a field name: texts[3]; the body itself is 'body'."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def error_response(
    status: int,
    message: str,
    type_: str,
    field: str | None = None,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON error every failure returns: {"error": {"field", "message", "type"}, "errors": [...]}."""
    body: dict[str, Any] = {"error": {"field": field, "message": message, "type": type_}}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def validation_error_response(errors: list[dict]) -> JSONResponse:
    """422 for a body that parses but breaks the schema; 400 when the body is not JSON at all."""
    details = []
    for error in errors:
        field = field_name(tuple(error.get("loc", ())))
        kind = error.get("type", "invalid")
        if kind == "json_invalid":
            field = "body"
        message = f"{field}: {error.get('msg', 'invalid value')}"
        details.append({"field": field, "message": message, "type": kind})
    first = details[0] if details else {"field": "body", "message": "invalid request", "type": "invalid"}
    status = 400 if first["type"] == "json_invalid" else 422
    if first["type"] == "json_invalid":
        first = {**first, "message": f"body: not valid JSON ({first['message'].split(': ', 1)[-1]})"}
    return error_response(
        status, first["message"], first["type"], first["field"], details if len(details) > 1 else None
    )
