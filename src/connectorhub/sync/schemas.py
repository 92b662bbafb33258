from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectorhub.sync.models import SyncStatus


class StreamInfo(BaseModel):
    name: str
    key_properties: list[str]
    replication_keys: list[str] = Field(description="Columns an incremental sync may follow.")
    columns: list[str]
    selected: bool = False
    replication_method: str | None = None
    replication_key: str | None = None


class ConnectionTest(BaseModel):
    ok: bool
    tested_at: datetime
    streams: list[StreamInfo] = Field(default_factory=list)
    error: str | None = None
    error_kind: str | None = Field(
        None, description="auth, config, timeout, crash, protocol, install"
    )
    stderr_tail: str = Field("", description="The tap's own last lines, secrets masked.")


class StreamChoice(BaseModel):
    name: str = Field(max_length=200)
    replication_method: Literal["FULL_TABLE", "INCREMENTAL"] = "FULL_TABLE"
    replication_key: str | None = Field(None, max_length=200)


class StreamSelection(BaseModel):
    streams: list[StreamChoice] = Field(min_length=1, max_length=1000)


class SyncRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connector_id: uuid.UUID
    status: SyncStatus
    trigger: str
    attempt: int
    streams: list[Any]
    rows: dict[str, Any] = Field(description="Rows loaded per stream so far.")
    state_before: dict[str, Any] | None
    state_after: dict[str, Any] | None
    log_tail: str
    error: str | None
    error_kind: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None


class SyncRunPage(BaseModel):
    items: list[SyncRunRead]
    total: int
    page: int
    page_size: int


class ScheduleUpdate(BaseModel):
    cron: str | None = Field(
        None, max_length=100,
        description="Five-field cron (`0 * * * *`) or a macro (`@daily`); null removes it.",
        examples=["*/30 * * * *"],
    )  # fmt: skip
    timezone: str = Field(
        "UTC", max_length=64, description="IANA time zone the cron is read in (DST-aware)."
    )


class ScheduleRead(BaseModel):
    cron: str | None
    timezone: str | None
    next_sync_at: datetime | None = Field(description="When the workers next start a sync.")


class DestinationPick(BaseModel):
    destination_id: uuid.UUID | None = Field(
        None,
        description="A Singer target connector (catalog kind `target`) of this workspace; null: "
        "the built-in warehouse (for the workspace) or the workspace's default (for a source).",
    )


class DestinationRead(BaseModel):
    destination_id: uuid.UUID | None = Field(
        description="What was picked here (null: the built-in warehouse for the workspace, the "
        "workspace's default for a source)."
    )
    effective_id: uuid.UUID | None = Field(
        description="The target connector syncs load into now (null: the built-in warehouse)."
    )
    effective_name: str = Field(description="Its name, or `warehouse`.")
