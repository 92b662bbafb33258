"""Row-level security on connector_templates and web_sessions, the two shared tables left out.

Templates: readable when published and official or public, or owned by the bound workspace;
written only by their owner workspace or in a platform-admin context (`app.platform_admin`,
set by `TemplateRepository` for platform admins and the official seeding). Counting an install
of another workspace's template touches that one published row only, while
`app.template_install` names it.

Sessions: a user's own (`app.user_id`, bound once the session is known). The cookie lookup
happens before anyone is known: while `app.session_token_hash` holds the presented cookie's
hash, that one row is readable, for SELECT only (the way 0013 made identity lookup read-only).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEMPLATES = "connector_templates"
SESSIONS = "web_sessions"

PUBLISHED = "status = 'published' AND (is_official OR visibility = 'public')"
OWNER = "owner_tenant_id = current_setting('app.tenant_id', true)"
PLATFORM_ADMIN = "current_setting('app.platform_admin', true) = 'on'"
INSTALLING = "id::text = current_setting('app.template_install', true)"

SESSION_USER = "user_id::text = current_setting('app.user_id', true)"
SESSION_LOOKUP = "token_hash = current_setting('app.session_token_hash', true)"


def _force(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _force(TEMPLATES)
    op.execute(f"CREATE POLICY marketplace ON {TEMPLATES} FOR SELECT USING ({PUBLISHED})")
    op.execute(
        f"CREATE POLICY owner_or_platform_admin ON {TEMPLATES} "
        f"USING ({OWNER} OR {PLATFORM_ADMIN}) WITH CHECK ({OWNER} OR {PLATFORM_ADMIN})"
    )
    op.execute(
        f"CREATE POLICY install_count ON {TEMPLATES} FOR UPDATE "
        f"USING ({INSTALLING} AND {PUBLISHED}) WITH CHECK ({INSTALLING} AND {PUBLISHED})"
    )
    _force(SESSIONS)
    op.execute(
        f"CREATE POLICY own_sessions ON {SESSIONS} USING ({SESSION_USER}) "
        f"WITH CHECK ({SESSION_USER})"
    )
    op.execute(f"CREATE POLICY session_lookup ON {SESSIONS} FOR SELECT USING ({SESSION_LOOKUP})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, policies in (
        (TEMPLATES, ["marketplace", "owner_or_platform_admin", "install_count"]),
        (SESSIONS, ["own_sessions", "session_lookup"]),
    ):
        for policy in policies:
            op.execute(f"DROP POLICY {policy} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
