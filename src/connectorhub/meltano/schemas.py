from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ImportedConnector(BaseModel):
    name: str
    action: Literal["create", "update"]
    catalog_key: str | None = Field(description="The catalog entry it matched; null: a new tap")
    custom_tap: bool
    pip_url: str | None
    config: list[str] = Field(description="Settings stored as config (names)")
    sealed: list[str] = Field(description="Settings sealed as auth fields (names, never values)")
    needs: list[str] = Field(description="Environment variables still to give")
    select: list[str]
    schedule: str | None


class ImportResult(BaseModel):
    dry_run: bool
    environment: str | None
    connectors: list[ImportedConnector]
    notes: list[str]
