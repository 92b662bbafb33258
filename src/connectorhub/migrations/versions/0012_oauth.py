"""OAuth 2.0 connect: each oauth catalog entry's `oauth` block, pending authorizations
(`oauth_states`, row-level security admitting the callback's lookup by state), and on connectors
and workspace credentials the grant's facts and the access token's expiry.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "oauth_states"
HOLDERS = ["connectors", "workspace_api_credentials"]


def upgrade() -> None:
    with op.batch_alter_table("connector_catalog") as batch:
        batch.add_column(sa.Column("oauth", JSON_TYPE, nullable=True))
    for table in HOLDERS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("oauth", JSON_TYPE, nullable=True))
            batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True)))
            batch.create_index(f"ix_{table}_token_expires_at", ["token_expires_at"])
    with op.batch_alter_table("workspace_api_credentials") as batch:
        batch.add_column(sa.Column("provider", sa.String(length=64), nullable=True))
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("web_session_id", sa.Uuid(), nullable=True),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["workspaces.id"],
            name=op.f("fk_oauth_states_tenant_id_workspaces"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oauth_states_state_hash")),
    )  # fmt: skip
    with op.batch_alter_table(TABLE) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_states_tenant_id"), ["tenant_id"])
    if op.get_bind().dialect.name == "postgresql":
        # The callback knows only the state: it is looked up under `app.identity_lookup`
        # (connectorhub.db.identity_lookup); consuming it needs the workspace bound.
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {TABLE} "
            "USING (tenant_id = current_setting('app.tenant_id', true) "
            "OR current_setting('app.identity_lookup', true) = 'on') "
            "WITH CHECK (tenant_id = current_setting('app.tenant_id', true))"
        )


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table("workspace_api_credentials") as batch:
        batch.drop_column("provider")
    for table in HOLDERS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_token_expires_at")
            batch.drop_column("token_expires_at")
            batch.drop_column("oauth")
    with op.batch_alter_table("connector_catalog") as batch:
        batch.drop_column("oauth")
