"""Draft test requests and results."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectorhub.execution.schemas import StepRead


class DraftTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] = Field(
        description="An unsaved definition, checked as saving one is: 400 with "
        "`definition.<path>` keys when it has problems."
    )
    input: dict[str, Any] = Field(
        default_factory=dict, description="Sample input, checked against its input schema."
    )
    connector_id: uuid.UUID | None = Field(
        None, description="An HTTP connector of this workspace whose config and auth it may use."
    )
    config: dict[str, Any] | None = Field(
        None,
        description="Config given inline (base_url, default_headers…); replaces the connector's "
        "when both are given. Checked against the Generic HTTP settings schema.",
    )


class DraftStep(StepRead):
    """An execution's step record, plus the response body (for trying JSONPaths against)."""

    response: Any = Field(
        None,
        description="The response body (JSON when it parses, else text), every secret the run "
        "knows redacted and cut at 64 KiB; for trying JSONPaths against",
    )


class DraftResult(BaseModel):
    status: Literal["succeeded", "failed"]
    steps: list[DraftStep]
    output: Any = None
    error: str | None = None
    duration_ms: float


class DraftCheck(BaseModel):
    """The builder's draft as the wizard holds it: checked as saving would check it."""

    definition: dict[str, Any]
    config: dict[str, Any] = Field(default_factory=dict)


class DraftSave(DraftCheck):
    connector_id: uuid.UUID | None = None
    name: str = ""
    activate: bool = Field(
        False, description="Active after saving; for an edited connector, false deactivates it"
    )


class PathPreview(BaseModel):
    path: str = Field(max_length=2000)
    document: Any = None
