from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    """A source's pick. `{"destination_id": null}` (or `{}`), as before `destination` existed,
    follows the workspace."""

    destination: Literal["workspace", "warehouse", "target"] | None = Field(
        None,
        description="`workspace`: follow the workspace's destination; `warehouse`: the built-in "
        "warehouse, whatever the workspace's; `target`: the target `destination_id` names. "
        "Omitted: `target` with a destination_id, else `workspace`.",
    )
    destination_id: uuid.UUID | None = Field(
        None,
        description="A Singer target connector (catalog kind `target`) of this workspace; null "
        "with `destination` omitted: the workspace's destination.",
    )

    @model_validator(mode="after")
    def _target_named_only_for_a_target(self) -> DestinationPick:
        if self.destination == "target" and self.destination_id is None:
            raise ValueError("destination `target` needs the target's destination_id")
        if self.destination in ("workspace", "warehouse") and self.destination_id is not None:
            raise ValueError(f"destination `{self.destination}` takes no destination_id")
        return self

    @property
    def warehouse(self) -> bool:
        return self.destination == "warehouse"


class WorkspaceDestinationPick(DestinationPick):
    """The workspace's pick: the built-in warehouse or a target (it has nothing to follow)."""

    destination: Literal["warehouse", "target"] | None = Field(
        None,
        description="`warehouse`: the built-in warehouse; `target`: the target `destination_id` "
        "names. Omitted: `target` with a destination_id, else `warehouse`.",
    )
    destination_id: uuid.UUID | None = Field(
        None,
        description="A Singer target connector (catalog kind `target`) of this workspace; null: "
        "the built-in warehouse.",
    )


class DestinationRead(BaseModel):
    destination: Literal["workspace", "warehouse", "target"] = Field(
        description="What was picked here: `workspace` (a source following the workspace's), "
        "`warehouse` (the built-in warehouse) or `target` (the one `destination_id` names)."
    )
    destination_id: uuid.UUID | None = Field(
        description="The target picked here (null: none; see `destination`)."
    )
    effective_id: uuid.UUID | None = Field(
        description="The target connector syncs load into now (null: the built-in warehouse)."
    )
    effective_name: str = Field(description="Its name, or `warehouse`.")
