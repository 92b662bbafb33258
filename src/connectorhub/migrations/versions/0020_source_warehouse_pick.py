"""A source may pick the built-in warehouse itself (`destination_warehouse`), whatever the
workspace's destination; before, a source with no target of its own always followed the
workspace. Existing rows keep following it (false).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(
            sa.Column(
                "destination_warehouse", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    # Rows that picked the warehouse follow the workspace again.
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("destination_warehouse")
