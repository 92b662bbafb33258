from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuthField(BaseModel):
    name: str
    title: str
    secret: bool
    required: bool
    description: str | None = None


class CatalogEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    description: str
    category: str
    icon: str
    auth_type: str
    kind: str
    capabilities: dict[str, Any]
    default_config_schema: dict[str, Any]
    auth_fields: list[AuthField]
    docs_url: str | None
    plugin: dict[str, Any] | None = None
    publishing: dict[str, Any] | None = None
    oauth: dict[str, Any] | None = None


class CatalogList(BaseModel):
    items: list[CatalogEntryRead]
    total: int


class ValidateConfigRequest(BaseModel):
    catalog_key: str = Field(min_length=1, max_length=64)
    config: dict[str, Any]


class ValidateConfigResult(BaseModel):
    valid: bool
    errors: dict[str, list[str]] = Field(default_factory=dict)
