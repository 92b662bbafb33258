"""The running service's parts, put together once: settings, database, unit of work, secret
box, outbound client, plugins and the job queue. The app, the CLI and the tests build one; a
background job is given only its narrow `JobContext` (worker/context.py), never the Hub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectorhub.models
import connectorhub.tasks  # noqa: F401  (every domain's background jobs, registered)
from connectorhub.config import Environment, Settings
from connectorhub.credential.keys import load_keyring, verify_keys
from connectorhub.db import (
    UnitOfWork,
    create_engine,
    create_sessionmaker,
    libpq_conninfo,
    privileged_role_problems,
)
from connectorhub.exceptions import StartupRefused
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.outbound import Outbound
from connectorhub.kit.plugins import PluginManager
from connectorhub.kit.ssrf import AddressPolicy
from connectorhub.run.signals import RunSignals
from connectorhub.tenant.service import workspace_ids
from connectorhub.worker.claimants import process_claimant
from connectorhub.worker.context import JobContext
from connectorhub.worker.procrastinate_queue import ProcrastinateQueue
from connectorhub.worker.queue import InProcessQueue, Job, run_every_start

log = logging.getLogger(__name__)
T = TypeVar("T")


class Hub:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.box = SecretBox(load_keyring(settings))
        self.engine: AsyncEngine = create_engine(settings)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.work = UnitOfWork(self.sessionmaker, self._defer, workspace_ids)
        self.http = Outbound(AddressPolicy(settings.outbound_allowed))
        self.plugins = PluginManager(
            (settings.plugins_dir or settings.data_dir / "plugins").resolve(), settings.plugin_pins
        )
        # Who this process is when it claims a run itself (see run/lifecycle.py).
        self.context = JobContext(
            settings=settings, work=self.work, box=self.box, outbound=self.http,
            plugins=self.plugins, claimant=process_claimant(),
        )  # fmt: skip
        self.jobs: InProcessQueue | ProcrastinateQueue = (
            InProcessQueue(self.context, concurrency=settings.worker_concurrency)
            if settings.is_sqlite
            else ProcrastinateQueue(self.context)
        )
        # A run's end, told to a waiting request in this process (PostgreSQL: a worker runs it).
        self.run_signals: RunSignals | None = (
            None
            if settings.is_sqlite
            else RunSignals(libpq_conninfo(settings.resolved_database_url))
        )
        self._running: set[asyncio.Task[Any]] = set()

    async def _defer(self, jobs: list[Job]) -> None:
        await self.jobs.defer(jobs)

    @property
    def claimant(self) -> str:
        return self.context.claimant

    @property
    def address_policy(self) -> AddressPolicy:
        return self.http.policy

    @property
    def outbound(self) -> aiohttp.ClientSession:
        """The shared, SSRF-guarded HTTP client (made on first use, on the running loop)."""
        return self.http.session

    def run_soon(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run work in this process, outliving the request that started it (kept until done)."""
        task = asyncio.create_task(coroutine)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def start_embedded_worker(self) -> None:
        """Embedded default (SQLite): this process is the only worker. Run the domains'
        start-up work (requeue what a killed process left unfinished; each run still ends
        exactly once, see run/lifecycle.py) and their periodic work (scheduled syncs). On
        PostgreSQL the `connectorhub worker` processes do both, and this process only what
        every process does at its start (it runs connection tests, so taps, itself)."""
        if isinstance(self.jobs, InProcessQueue):
            await self.jobs.recover()
            self.jobs.start_periodic(self.settings.scheduler_interval_seconds)
        else:
            await self.jobs.open()
            await run_every_start(self.context)

    async def start(self) -> None:
        """Check the keys and the database role. Raises StartupRefused."""
        try:
            async with self.work.transaction() as session:
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
        if self.run_signals is not None:
            await self.run_signals.close()
        await self.http.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
