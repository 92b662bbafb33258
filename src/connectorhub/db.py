"""Engine and session factories, the per-request transaction, and the tenant binding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from connectorhub.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            from pathlib import Path

            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # WAL lets the in-process worker write while pages read; FKs are off by default in SQLite.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on an upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def bind_tenant(session: AsyncSession, tenant_id: str) -> None:
    """Set `app.tenant_id` for the current transaction only (PostgreSQL RLS reads it).

    `set_config(..., true)` is `SET LOCAL`: it ends with the transaction, so a pooled connection
    never carries one workspace's setting into the next request.
    """
    if is_postgres(session):
        await session.execute(
            select(text("set_config('app.tenant_id', :tenant, true)")).params(tenant=tenant_id)
        )


@asynccontextmanager
async def identity_lookup(session: AsyncSession) -> AsyncIterator[None]:
    """Let the statements inside read identity rows (memberships, API tokens) of any workspace.

    For the two lookups that happen before a workspace is known: a presented token, and the
    workspaces a signed-in user may open. RLS admits those rows only while this flag is on; it is
    transaction-local and switched off again at once.
    """
    if not is_postgres(session):
        yield
        return
    await session.execute(text("SELECT set_config('app.identity_lookup', 'on', true)"))
    # No `finally`: a failed statement aborts the PostgreSQL transaction, so nothing else can run
    # under the flag, and resetting it there would only hide the real error.
    yield
    await session.execute(text("SELECT set_config('app.identity_lookup', '', true)"))


async def privileged_role_problems(session: AsyncSession) -> list[str]:
    """Why the current PostgreSQL role would defeat row-level security (empty when it would not)."""
    if not is_postgres(session):
        return []
    row = (
        await session.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
    ).one()
    problems = []
    if row.rolsuper:
        problems.append("the database role is a superuser")
    if row.rolbypassrls:
        problems.append("the database role has BYPASSRLS")
    return problems
