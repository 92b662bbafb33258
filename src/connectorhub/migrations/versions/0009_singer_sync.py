"""Singer sources: discovered catalog, selected streams and state on connectors; sync runs
(with row-level security on PostgreSQL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "sync_runs"
ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("discovered_catalog", JSON_TYPE, nullable=True))
        batch.add_column(sa.Column("selected_streams", JSON_TYPE, nullable=True))
        batch.add_column(sa.Column("singer_state", JSON_TYPE, nullable=True))
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connector_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("streams", JSON_TYPE, nullable=False),
        sa.Column("rows", JSON_TYPE, nullable=False),
        sa.Column("state_before", JSON_TYPE, nullable=True),
        sa.Column("state_after", JSON_TYPE, nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=16), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"],
            name=op.f("fk_sync_runs_connector_id_connectors"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["workspaces.id"],
            name=op.f("fk_sync_runs_tenant_id_workspaces"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )  # fmt: skip
    with op.batch_alter_table(TABLE) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_connector_id"), ["connector_id"])
        batch_op.create_index(batch_op.f("ix_sync_runs_tenant_id"), ["tenant_id"])
        batch_op.create_index("ix_sync_runs_listing", ["tenant_id", "created_at"])
        batch_op.create_index(
            "uq_sync_runs_one_active", ["tenant_id", "connector_id"], unique=True,
            sqlite_where=ACTIVE, postgresql_where=ACTIVE,
        )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {TABLE} "
            "USING (tenant_id = current_setting('app.tenant_id', true)) "
            "WITH CHECK (tenant_id = current_setting('app.tenant_id', true))"
        )


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("singer_state")
        batch.drop_column("selected_streams")
        batch.drop_column("discovered_catalog")
