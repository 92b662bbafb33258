"""The running service's shared parts: settings, database engine, sessions and the secret box."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectorhub.models  # noqa: F401  (every mapper, so foreign keys resolve in any process)
from connectorhub.config import Environment, Settings
from connectorhub.credential.keys import load_keyring, verify_keys
from connectorhub.db import create_engine, create_sessionmaker, privileged_role_problems
from connectorhub.exceptions import StartupRefused
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.outbound import create_outbound_session
from connectorhub.kit.ssrf import AddressPolicy
from connectorhub.sync.plugins import PluginManager
from connectorhub.worker.procrastinate_queue import ProcrastinateQueue
from connectorhub.worker.queue import InProcessQueue, Job, transaction

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.box = SecretBox(load_keyring(settings))
        self.engine: AsyncEngine = create_engine(settings)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.address_policy = AddressPolicy(settings.outbound_allowed)
        self.plugins = PluginManager(
            (settings.plugins_dir or settings.data_dir / "plugins").resolve()
        )
        # Who this process is when it claims an execution (see execution.service.claim).
        self.claimant = f"process:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.jobs: InProcessQueue | ProcrastinateQueue = (
            InProcessQueue(self._run_job, concurrency=settings.worker_concurrency)
            if settings.is_sqlite
            else ProcrastinateQueue(self)
        )
        self._outbound: aiohttp.ClientSession | None = None
        self._running: set[asyncio.Task[None]] = set()

    def run_soon(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run work in this process, outliving the request that started it (kept until done)."""
        task = asyncio.create_task(coroutine)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    @property
    def outbound(self) -> aiohttp.ClientSession:
        """The shared, SSRF-guarded HTTP client (made on first use, on the running loop)."""
        if self._outbound is None or self._outbound.closed:
            self._outbound = create_outbound_session(self.address_policy)
        return self._outbound

    def transaction(self):
        """One transaction; jobs deferred in it are queued once it commits."""
        return transaction(self.sessionmaker, self.jobs)

    async def recover_unfinished(self) -> int:
        """Embedded default: requeue executions and syncs a killed process left unfinished.

        Only on SQLite, where this process is the only worker; on PostgreSQL the job queue's
        own stalled-job recovery does this. Each execution still ends exactly once (see claim).
        """
        if not self.settings.is_sqlite:
            return 0
        from connectorhub.execution.repository import unfinished_executions
        from connectorhub.execution.service import run_job
        from connectorhub.sync.repository import unfinished_sync_runs
        from connectorhub.sync.service import sync_job

        async with self.sessionmaker() as session:
            orphans = await unfinished_executions(session)
            syncs = await unfinished_sync_runs(session)
        # This process is the only worker: whoever claimed these before it is gone.
        await self.jobs.defer(
            [run_job(t, id_, take_over=True) for t, id_ in orphans]
            + [sync_job(t, id_, take_over=True) for t, id_ in syncs]
        )
        if orphans or syncs:
            log.info("requeued %d executions and %d syncs", len(orphans), len(syncs))
        return len(orphans) + len(syncs)

    def start_scheduler(self) -> None:
        """Embedded default: this process starts scheduled syncs (on PostgreSQL the workers'
        periodic task does)."""
        if self.settings.is_sqlite and self.settings.scheduler_interval_seconds:
            from connectorhub.sync.tasks import run_schedules

            self.run_soon(run_schedules(self, self.settings.scheduler_interval_seconds))

    async def _run_job(self, job: Job) -> None:
        from connectorhub.worker.registry import JOBS

        await JOBS[job.name](self, claimant=self.claimant, **job.kwargs)

    async def start(self) -> None:
        """Check the keys and the database role. Raises StartupRefused."""
        try:
            async with self.sessionmaker() as session, session.begin():
                await verify_keys(session, self.box)
                problems = await privileged_role_problems(session)
        except (OperationalError, ProgrammingError) as exc:
            if "secret_key_checks" in str(exc):
                raise StartupRefused(
                    "the database is not migrated: run `connectorhub db upgrade`"
                ) from exc
            raise StartupRefused(f"cannot reach the database: {exc.orig}") from exc
        if problems:
            message = (
                f"{' and '.join(problems)}: row-level security does not apply to it. "
                "Run the service as a role without SUPERUSER or BYPASSRLS."
            )
            if (
                self.settings.env == Environment.production
                and not self.settings.allow_privileged_db_role
            ):
                raise StartupRefused(message)
            log.warning(message)

    async def stop(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self.jobs.stop()
        if self._outbound is not None:
            await self._outbound.close()
            self._outbound = None
        await self.engine.dispose()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
