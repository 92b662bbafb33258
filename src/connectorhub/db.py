"""Engine and session factories, the tenant binding, and the unit of work: the one way any code
opens a transaction (a request, a job, a CLI command), which binds the workspace and hands the
jobs deferred in it to the queue only once it has committed."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from connectorhub.config import Settings
from connectorhub.exceptions import ServiceUnavailable
from connectorhub.kit import json_codec

log = logging.getLogger(__name__)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            json_deserializer=json_codec.loads,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        json_deserializer=json_codec.loads,
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


def libpq_conninfo(database_url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy) → `postgresql://…` (libpq: Procrastinate, COPY)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


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


@dataclass(frozen=True)
class WorkspaceScope:
    """A transaction bound to one workspace, and who is acting in it (for audit fields)."""

    session: AsyncSession
    tenant_id: str
    actor: str | None

    @classmethod
    async def open(cls, session: AsyncSession, tenant_id: str, actor: str | None) -> WorkspaceScope:
        """Bind `tenant_id` to the session's transaction. Outside `UnitOfWork` only the request
        dependencies call this: they learn the workspace inside the request's transaction."""
        await bind_tenant(session, tenant_id)
        return cls(session=session, tenant_id=tenant_id, actor=actor)

    def defer(self, job: Any) -> None:
        """Queue `job` once this transaction commits; dropped if it rolls back."""
        defer_after_commit(self.session, job)


_PENDING = "connectorhub.pending_jobs"


def defer_after_commit(session: AsyncSession, job: Any) -> None:
    """Queue `job` once this session's transaction commits; dropped if it rolls back."""
    session.info.setdefault(_PENDING, []).append(job)


def _take_pending(session: AsyncSession) -> list[Any]:
    return session.info.pop(_PENDING, [])


T = TypeVar("T")
Defer = Callable[[list[Any]], Awaitable[None]]
ListWorkspaces = Callable[[AsyncSession], Awaitable[Sequence[str]]]


class UnitOfWork:
    """Opens transactions: `transaction()` for identity and cross-workspace work,
    `workspace(tenant, actor)` for a workspace's data (bound for RLS), `for_each_workspace` for
    the jobs that visit every workspace in short transactions of their own. Whichever way,
    jobs deferred inside go to the queue after the commit, never before and never on rollback.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        defer: Defer,
        list_workspaces: ListWorkspaces,
    ):
        self._sessionmaker = sessionmaker
        self._defer = defer
        self._list_workspaces = list_workspaces

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction, committed when the block ends well, rolled back when it raises,
        except for an error that says `keeps_changes` (it recorded a state worth keeping, such
        as a connector found with unreadable credentials): that one commits, then propagates."""
        try:
            async with self._sessionmaker() as session:
                transaction = await session.begin()
                try:
                    yield session
                except BaseException as error:
                    if getattr(error, "keeps_changes", False) and transaction.is_active:
                        await transaction.commit()
                        jobs = _take_pending(session)
                        if jobs:
                            await self._defer(jobs)
                    else:
                        await transaction.rollback()
                    raise
                await transaction.commit()
                jobs = _take_pending(session)
        except PoolTimeout as exc:
            # Every connection busy past the pool's wait: nothing was done, so "try again".
            raise ServiceUnavailable() from exc
        except OperationalError as exc:
            if "database is locked" not in str(exc.orig):
                raise
            # SQLite's write lock held past busy_timeout: the same, on the embedded default.
            raise ServiceUnavailable() from exc
        if jobs:
            await self._defer(jobs)

    @asynccontextmanager
    async def workspace(self, tenant_id: str, actor: str | None) -> AsyncIterator[WorkspaceScope]:
        """One transaction bound to `tenant_id`, acting as `actor`."""
        async with self.transaction() as session:
            yield await WorkspaceScope.open(session, tenant_id, actor)

    async def workspace_ids(self) -> list[str]:
        async with self.transaction() as session:
            return list(await self._list_workspaces(session))

    async def for_each_workspace(
        self,
        actor: str,
        work: Callable[[WorkspaceScope], Awaitable[T]],
        *,
        keep_going: bool = False,
    ) -> dict[str, T]:
        """Run `work` in each workspace, each in its own short transaction; returns the results
        by workspace. With `keep_going`, a workspace whose work raises is logged and skipped
        (its transaction rolled back), so one workspace's trouble never holds up another's."""
        results: dict[str, T] = {}
        for tenant_id in await self.workspace_ids():
            try:
                async with self.workspace(tenant_id, actor) as scope:
                    results[tenant_id] = await work(scope)
            except Exception:
                if not keep_going:
                    raise
                log.exception("%s in workspace %s failed", actor, tenant_id)
        return results

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the lock called `name` against every other process using this database, for
        work that must happen once however many want it (refreshing one OAuth token). On
        PostgreSQL a transaction-level advisory lock on a connection of its own, so the work
        inside runs its own short transactions and no row stays locked; on SQLite a file lock
        beside the database. Callers also serialise their own process's tasks: this lock
        costs a connection or a thread while it waits."""
        async with self._sessionmaker() as session:
            if is_postgres(session):
                async with session.begin():
                    await session.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)}
                    )
                    yield
                return
            database = session.get_bind().url.database
        if not database or database == ":memory:":
            yield  # one process only
            return
        directory = Path(database).with_name(Path(database).name + ".locks")
        directory.mkdir(mode=0o700, exist_ok=True)
        path = directory / f"{_lock_key(name) & 0xFFFFFFFFFFFF:012x}.lock"
        descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
