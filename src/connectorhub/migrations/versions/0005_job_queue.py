"""Who runs an execution (`claimed_by`), and Procrastinate's job tables on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connector_executions") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Procrastinate 3.10's schema (the dependency is pinned to that minor). Sent on the
        # DB-API cursor without parameters, so nobody reads its `:` and `%` as placeholders.
        cursor = op.get_bind().connection.dbapi_connection.cursor()
        try:
            cursor.execute(SchemaManager.get_schema())
        finally:
            cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(
            "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers CASCADE;"
            "DO $$ DECLARE f record; BEGIN"
            " FOR f IN SELECT oid::regprocedure AS sig FROM pg_proc"
            "  WHERE proname LIKE 'procrastinate%' LOOP"
            "  EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE'; END LOOP; END $$;"
            "DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,"
            " procrastinate_job_to_defer_v1 CASCADE;"
        )
    with op.batch_alter_table("connector_executions") as batch:
        batch.drop_column("claimed_by")
