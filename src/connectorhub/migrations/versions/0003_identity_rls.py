"""Row-level security on memberships and api_tokens too.

Both are read before a workspace is known (token lookup, the workspaces a user may open), so their
policy also admits rows while the transaction-local `app.identity_lookup` flag is on; the app sets
it only around those two lookups (connectorhub.db.identity_lookup). Writes always need the tenant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_TABLES = ["memberships", "api_tokens"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in IDENTITY_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (tenant_id = current_setting('app.tenant_id', true) "
            "OR current_setting('app.identity_lookup', true) = 'on') "
            "WITH CHECK (tenant_id = current_setting('app.tenant_id', true))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in IDENTITY_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
