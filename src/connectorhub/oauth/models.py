"""A pending authorization: the `state` a Connect redirect carries, until its callback."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TenantOwned, UUIDType, new_id


class OAuthState(TenantOwned, Base):
    """Single use, bound to who started it (user, and the browser session for page starts),
    the workspace and the connector or credential, and short-lived. Only the state's sha256 is
    stored; the PKCE verifier is sealed."""

    __tablename__ = "oauth_states"

    id: Mapped[uuid.UUID] = mapped_column(UUIDType, primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUIDType)
    web_session_id: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    target_kind: Mapped[str] = mapped_column(String(16))  # connector | credential
    target_id: Mapped[uuid.UUID] = mapped_column(UUIDType)
    provider: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_verifier: Mapped[str | None] = mapped_column(Text)  # sealed
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
