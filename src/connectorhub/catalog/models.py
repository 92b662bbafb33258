"""The global, read-only catalog of connector types (seeded from catalog/entries/*.yaml)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TimestampMixin, UUIDType, new_id

# The one entry with no file: taps a workspace imports from a meltano.yml point at it
# (catalog/custom_taps.py). Browsing leaves it out: nobody installs it by hand.
CUSTOM_TAP_KEY = "singer-custom"


class CatalogEntry(TimestampMixin, Base):
    __tablename__ = "connector_catalog"

    id: Mapped[uuid.UUID] = mapped_column(UUIDType, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    icon: Mapped[str] = mapped_column(String(64))
    auth_type: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    capabilities: Mapped[dict[str, Any]]
    default_config_schema: Mapped[dict[str, Any]]
    auth_fields: Mapped[list[Any]]
    docs_url: Mapped[str | None] = mapped_column(String(500))
    plugin: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # Publisher entries: the content the target takes (publish/content.py checks against it).
    publishing: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # `auth_type: oauth` entries: how to connect an account and refresh its token (oauth/).
    oauth: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # sha256 of the source file's canonical JSON: seeding rewrites a row only when it changed.
    content_hash: Mapped[str] = mapped_column(String(64))
