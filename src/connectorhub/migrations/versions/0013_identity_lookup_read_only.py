"""Identity lookup is read-only: the `app.identity_lookup` flag (reading identity rows before a
workspace is known: memberships, API tokens, pending OAuth states) admits SELECT only. Until now
the one policy per table honoured it for every command, so a DELETE under the flag reached other
workspaces' rows (an UPDATE was stopped only by its WITH CHECK).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_TABLES = ["memberships", "api_tokens", "oauth_states"]
TENANT = "tenant_id = current_setting('app.tenant_id', true)"
LOOKUP = "current_setting('app.identity_lookup', true) = 'on'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in IDENTITY_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT}) WITH CHECK ({TENANT})"
        )
        op.execute(f"CREATE POLICY identity_lookup ON {table} FOR SELECT USING ({LOOKUP})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in IDENTITY_TABLES:
        op.execute(f"DROP POLICY identity_lookup ON {table}")
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT} OR {LOOKUP}) "
            f"WITH CHECK ({TENANT})"
        )
