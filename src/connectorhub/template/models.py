"""Connector templates: HTTP connector definitions shared as a marketplace.

A shared table, not a workspace's: official templates (platform admins) and published public
community ones are visible to every workspace, drafts and workspace-only ones to their owner.
`repository.TemplateRepository` is the one place that applies those rules.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TimestampMixin, new_id


class TemplateStatus(StrEnum):
    draft = "draft"
    published = "published"
    unpublished = "unpublished"


class Visibility(StrEnum):
    public = "public"  # every workspace, once published
    workspace = "workspace"  # only the owner's


class ConnectorTemplate(TimestampMixin, Base):
    __tablename__ = "connector_templates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), index=True)
    icon: Mapped[str] = mapped_column(String(64), default="world-www")
    docs_url: Mapped[str | None] = mapped_column(String(500))
    is_official: Mapped[bool] = mapped_column(Boolean, default=False)
    # The workspace that owns a community template (None: official).
    owner_tenant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.public.value)
    status: Mapped[str] = mapped_column(String(16), default=TemplateStatus.draft.value)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # Taken down by a platform admin: only a platform admin may publish it again.
    moderated: Mapped[bool] = mapped_column(Boolean, default=False)
    install_count: Mapped[int] = mapped_column(Integer, default=0)
    # The working copy (what the owner edits) …
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # … and what installs get: the latest published version (0: never published).
    version: Mapped[int] = mapped_column(Integer, default=0)
    published_definition: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    published_config: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    changelog: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column()
    content_hash: Mapped[str | None] = mapped_column(String(64))  # official files: last seeded
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class TemplateVersion(TimestampMixin, Base):
    """One published version, kept for good: installs and upgrades may pick any of them, and a
    roll-back publishes an old one's content again under a new number."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    template_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connector_templates.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column()
    default_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changelog: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column()
    published_by: Mapped[str | None] = mapped_column(String(64))
