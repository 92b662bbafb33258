from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from connectorhub.connector.models import ConnectorStatus
from connectorhub.definition.model import Definition

ConnectorName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
MAX_TAGS = 20
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
# Secrets are strings; a number (e.g. an expiry timestamp) is accepted and stored as text.
AuthValue = str | int | float | None
AUTH_DESCRIPTION = (
    "Auth fields by name. Send the mask `********` (or leave a field out) to keep the stored "
    'value, null or "" to clear it, anything else to replace it. Secret fields are never '
    "returned."
)


DEFINITION_DESCRIPTION = (
    "HTTP connectors only: the steps to run. Every placeholder must name a known input, config, "
    "secret, workspace credential or an earlier step's extracted field."
)


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


class ConnectorCreate(BaseModel):
    catalog_key: str | None = Field(
        None, max_length=64, description="Catalog key (or give catalog_id)."
    )
    catalog_id: uuid.UUID | None = None
    name: ConnectorName
    config: dict[str, Any] = Field(default_factory=dict)
    auth: dict[str, AuthValue] = Field(default_factory=dict, description=AUTH_DESCRIPTION)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    definition: Definition | None = Field(None, description=DEFINITION_DESCRIPTION)

    _tags = field_validator("tags")(_dedupe)

    @model_validator(mode="after")
    def _one_catalog_reference(self) -> ConnectorCreate:
        if not self.catalog_key and not self.catalog_id:
            raise ValueError("give catalog_key or catalog_id")
        return self


class DraftTest(BaseModel):
    """A connector not saved yet, to test: what `POST /api/connectors` would take, less its
    name and tags."""

    catalog_key: str | None = Field(
        None, max_length=64, description="Catalog key (or give catalog_id)."
    )
    catalog_id: uuid.UUID | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    auth: dict[str, AuthValue] = Field(
        default_factory=dict,
        description="Auth fields by name, in clear (nothing is stored, and nothing is "
        "returned: the answer never echoes them).",
    )

    @model_validator(mode="after")
    def _one_catalog_reference(self) -> DraftTest:
        if not self.catalog_key and not self.catalog_id:
            raise ValueError("give catalog_key or catalog_id")
        return self


class ConnectorPatch(BaseModel):
    """PUT and PATCH alike: only the fields sent change; auth follows the mask rules field by
    field."""

    name: ConnectorName | None = None
    config: dict[str, Any] | None = None
    auth: dict[str, AuthValue] | None = Field(None, description=AUTH_DESCRIPTION)
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    status: ConnectorStatus | None = None
    definition: Definition | None = Field(None, description=DEFINITION_DESCRIPTION)

    @field_validator("tags")
    @classmethod
    def _dedupe_tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else _dedupe(tags)


class ExecutionStats(BaseModel):
    total: int
    succeeded: int
    failed: int
    last_run_at: datetime | None
    avg_duration_ms: float | None


class ConnectorRead(BaseModel):
    id: uuid.UUID
    name: str
    catalog_id: uuid.UUID
    catalog_key: str
    catalog_name: str
    kind: str
    category: str
    icon: str
    auth_type: str
    status: ConnectorStatus
    status_reason: str | None
    config: dict[str, Any]
    auth: dict[str, str] = Field(
        description="Set auth fields: secret ones masked `********` (their values are never "
        "returned), the ones the catalog entry marks `secret: false` (a username) in clear."
    )
    tags: list[str]
    last_test: dict[str, Any] | None
    # Publishers: who the last successful test signed in as ({id, name, handle}).
    account: dict[str, Any] | None = None
    oauth_provider: str | None = Field(
        None, description="OAuth entries: who Connect signs in with (X, LinkedIn, Salesforce)."
    )
    oauth: dict[str, Any] | None = Field(
        None,
        description="A connected OAuth grant's facts (never its tokens): scopes, expires_at, "
        "refreshable, state (`ok` or `reconnect_needed`) and reason.",
    )
    schedule: str | None = Field(None, description="Sources: cron of scheduled syncs.")
    schedule_timezone: str | None = None
    next_sync_at: datetime | None = None
    selected_streams: list[dict[str, Any]] | None = Field(
        None, description="Sources: the streams a sync reads, and how."
    )
    destination_id: uuid.UUID | None = Field(
        None,
        description="Sources: the target connector syncs load into (null: the built-in warehouse "
        "if `destination_warehouse`, else the workspace's destination, see /api/destination).",
    )
    destination_warehouse: bool = Field(
        False,
        description="Sources: whether syncs load into the built-in warehouse whatever the "
        "workspace's destination.",
    )
    default_destination: bool = Field(
        False, description="Targets: whether this is the workspace's default destination."
    )
    definition: dict[str, Any] | None = Field(None, description="HTTP connectors: their steps")
    template_id: uuid.UUID | None = Field(None, description="The template it was installed from")
    template_version: int | None = None
    stats: ExecutionStats
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    warnings: list[str] = Field(default_factory=list)


class ConnectorPage(BaseModel):
    items: list[ConnectorRead]
    total: int
    page: int
    page_size: int


class PublishTarget(BaseModel):
    id: uuid.UUID
    name: str
    catalog_key: str
    capabilities: dict[str, Any]
    # Who it posts as (from its last successful test), and whether it can publish now: active,
    # tested with these credentials, and a driver exists for it.
    account: dict[str, Any] | None = None
    ready: bool = False


MAX_BULK_IDS = 100


class BulkAction(StrEnum):
    activate = "activate"
    deactivate = "deactivate"
    add_tag = "add_tag"
    remove_tag = "remove_tag"
    delete = "delete"


class BulkRequest(BaseModel):
    action: BulkAction
    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK_IDS)
    tag: Tag | None = Field(None, description="For add_tag and remove_tag")


class BulkItemResult(BaseModel):
    id: uuid.UUID
    ok: bool
    name: str | None = Field(None, description="The connector's name (unknown when not found)")
    status: ConnectorStatus | None = Field(None, description="Its status after (not after delete)")
    deleted: bool = False
    error: str | None = Field(None, description="Why this one was refused")
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="The error map, as the single-connector endpoint gives"
    )
    warnings: list[str] = Field(default_factory=list)


class BulkResults(BaseModel):
    results: list[BulkItemResult]
