"""On PostgreSQL, an execution that ends says so on the `connectorhub_run_finished` channel
(payload `connector_executions:<id>`), delivered when its transaction commits: a `?wait=true` caller on
another process learns of the end at once instead of reading the row again and again. A trigger,
so every way an execution ends (finish, cancel, recovery) tells. Nothing on SQLite, where the
waiting request runs the execution itself.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION connectorhub_run_finished() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('connectorhub_run_finished', TG_TABLE_NAME || ':' || NEW.id::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER executions_finished AFTER UPDATE OF status ON connector_executions
        FOR EACH ROW
        WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled')
              AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION connectorhub_run_finished()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER executions_finished ON connector_executions")
    op.execute("DROP FUNCTION connectorhub_run_finished()")
