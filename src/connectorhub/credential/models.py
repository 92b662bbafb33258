"""Key check values (how start-up knows the keys are right) and workspace API credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, TimestampMixin, new_id


class SecretKeyCheck(TimestampMixin, Base):
    __tablename__ = "secret_key_checks"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # A known plaintext sealed under this key; if it does not open, the key is wrong.
    check_value: Mapped[str] = mapped_column(Text)


class CredentialKind(StrEnum):
    bearer = "bearer"
    api_key = "api_key"
    basic = "basic"
    oauth2 = "oauth2"


# The secret fields each kind holds: (required, optional).
KIND_FIELDS: dict[CredentialKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    CredentialKind.bearer: (("token",), ()),
    CredentialKind.api_key: (("key",), ()),
    CredentialKind.basic: (("username", "password"), ()),
    CredentialKind.oauth2: (("access_token",), ("refresh_token", "expires_at")),
}


class WorkspaceApiCredential(TenantOwned, Base):
    """A named, reusable secret of a workspace, sent only to its allowed hosts.

    Definitions use it as `{{workspace.<name>}}`: the token, key or access token itself, or for
    `basic` an object with `username` and `password`.
    """

    __tablename__ = "workspace_api_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    allowed_hosts: Mapped[list[str]] = mapped_column(default=list)
    # Each field sealed on its own (see kit/sealing.py), never returned.
    secret: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_used_at: Mapped[datetime | None] = mapped_column()
    # oauth2: the catalog entry whose `oauth` block refreshes it (None: pasted, not refreshed),
    # the grant's facts that are not secret, and when the access token expires.
    provider: Mapped[str | None] = mapped_column(String(64))
    oauth: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(index=True)
