"""Stored key check values: how start-up knows the configured keys are the right ones."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import Base, TimestampMixin


class SecretKeyCheck(TimestampMixin, Base):
    __tablename__ = "secret_key_checks"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # A known plaintext sealed under this key; if it does not open, the key is wrong.
    check_value: Mapped[str] = mapped_column(Text)
