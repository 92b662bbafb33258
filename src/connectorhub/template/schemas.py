from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from connectorhub.connector.schemas import ConnectorName, ConnectorRead, Tag
from connectorhub.definition.model import Definition
from connectorhub.template.models import TemplateStatus, Visibility


def _not_an_id(key: str) -> str:
    try:
        uuid.UUID(key)
    except ValueError:
        return key
    raise ValueError("a key may not look like an id (a UUID)")


TemplateKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$"),
    AfterValidator(_not_an_id),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TemplateCreate(BaseModel):
    key: TemplateKey = Field(description="Unique across the marketplace, e.g. `acme-list-orders`.")
    name: Short
    description: str = Field("", max_length=2000)
    category: Category = "Developer"
    icon: str = Field("world-www", max_length=64, pattern=r"^[a-z0-9-]+$")
    docs_url: str | None = Field(None, max_length=500, pattern=r"^https?://")
    visibility: Visibility = Visibility.public
    is_official: bool = Field(False, description="Platform admins only.")
    definition: Definition
    default_config: dict[str, Any] = Field(
        default_factory=dict, description="Config an install starts from (e.g. `base_url`)."
    )


class TemplatePatch(BaseModel):
    name: Short | None = None
    description: str | None = Field(None, max_length=2000)
    category: Category | None = None
    icon: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9-]+$")
    docs_url: str | None = Field(None, max_length=500, pattern=r"^https?://")
    visibility: Visibility | None = None
    definition: Definition | None = None
    default_config: dict[str, Any] | None = None


class TemplatePublish(BaseModel):
    changelog: str = Field("", max_length=2000, description="What changed, shown to installers.")


class TemplateFeature(BaseModel):
    featured: bool


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    description: str
    category: str
    icon: str
    docs_url: str | None
    is_official: bool
    owned_by_you: bool = False
    visibility: Visibility
    status: TemplateStatus
    featured: bool
    install_count: int
    version: int = Field(description="The latest published version (0: never published).")
    changelog: str
    published_at: datetime | None
    required_credentials: list[str] = Field(description="Workspace credentials it needs, by name.")
    definition: dict[str, Any] = Field(
        description="The working copy (the published one for others)."
    )
    default_config: dict[str, Any]
    has_unpublished_changes: bool = False
    created_at: datetime
    updated_at: datetime


class TemplatePage(BaseModel):
    items: list[TemplateRead]
    total: int
    page: int
    page_size: int


class TemplateInstall(BaseModel):
    name: ConnectorName
    version: int | None = Field(
        None, ge=1, le=1_000_000, description="A published version (default: the latest)."
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="Merged over the template's default config."
    )
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class TemplateInstalled(BaseModel):
    connector: ConnectorRead
    missing_credentials: list[str] = Field(
        description="Credentials the workspace still has to add before the connector can run."
    )


class TemplateFromConnector(BaseModel):
    """Save an installed HTTP connector's definition (and its non-secret base URL) as a draft."""

    connector_id: uuid.UUID
    key: TemplateKey = Field(description="Unique across the marketplace, e.g. `acme-list-orders`.")
    name: Short
    description: str = Field("", max_length=2000)
    category: Category = "Developer"
    visibility: Visibility = Visibility.public


class TemplateVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    changelog: str
    published_at: datetime
    published_by: str | None


class TemplateVersionDetail(TemplateVersionRead):
    definition: dict[str, Any]
    default_config: dict[str, Any]


class TemplateDiff(BaseModel):
    from_version: int
    to_version: int
    diff: str = Field(
        description="A unified diff of the two versions as pretty JSON (empty: the same)."
    )


class TemplateRollback(BaseModel):
    version: int = Field(ge=1, le=1_000_000, description="The published version to bring back.")
    changelog: str = Field("", max_length=2000, description="Default: 'Rolled back to version N'.")


class ConnectorUpgrade(BaseModel):
    version: int | None = Field(
        None, ge=1, le=1_000_000, description="A published version (default: the latest)."
    )


class InstalledFromTemplate(BaseModel):
    """One of this workspace's connectors made from a template, and the version it runs."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    template_version: int | None
