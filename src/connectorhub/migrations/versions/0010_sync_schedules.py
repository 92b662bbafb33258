"""Sync schedules: a cron expression's time zone and the next due time on connectors.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("schedule_timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_connectors_next_sync_at", ["next_sync_at"])


def downgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.drop_index("ix_connectors_next_sync_at")
        batch.drop_column("next_sync_at")
        batch.drop_column("schedule_timezone")
