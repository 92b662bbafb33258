"""Where a source's syncs load: a Singer target connector picked as the workspace's default
destination (`default_destination`, at most one per workspace), and a source's own choice
(`destination_id`: a target connector of the same workspace; none: the workspace's default,
which is the built-in warehouse unless a target is picked).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = sa.text("default_destination")


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("destination_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column(
                "default_destination", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.create_foreign_key(
            "fk_connectors_destination_id_connectors", "connectors", ["destination_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
    op.create_index(
        "uq_connectors_default_destination", "connectors", ["tenant_id"], unique=True,
        sqlite_where=DEFAULT, postgresql_where=DEFAULT,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_connectors_default_destination", table_name="connectors")
    with op.batch_alter_table("connectors") as batch:
        batch.drop_constraint("fk_connectors_destination_id_connectors", type_="foreignkey")
        batch.drop_column("default_destination")
        batch.drop_column("destination_id")
