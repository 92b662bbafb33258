"""Execution requests and responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectorhub.execution.models import ExecutionStatus, Trigger


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(
        default_factory=dict, description="Checked against the definition's input schema."
    )
    trigger: Literal["api", "flow"] | None = Field(
        default=None,
        description="`flow` when a flow builder starts it (as the `X-ConnectorHub-Trigger` "
        "header says too); default `api`.",
    )


class StepRead(BaseModel):
    name: str
    status: str
    attempt: int
    request: dict[str, Any] | None = Field(None, description="What was sent, secrets redacted")
    status_code: int | None = None
    duration_ms: float | None = None
    extracted: dict[str, Any] | None = None
    error: str | None = None


class ExecutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connector_id: uuid.UUID
    status: ExecutionStatus
    trigger: Trigger
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    steps: list[StepRead]
    attempt: int
    idempotency_key: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None


class ExecutionPage(BaseModel):
    items: list[ExecutionRead]
    total: int
    page: int
    page_size: int
