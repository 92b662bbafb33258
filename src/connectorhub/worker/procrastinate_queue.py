"""PostgreSQL: background jobs on Procrastinate, run by `connectorhub worker` processes.

The API process only defers (after its commit, see `db.UnitOfWork`); any number of worker
processes on any machines run the jobs the domains registered (`worker.registry`). A worker
killed mid-job stops sending heartbeats; a periodic task on the surviving workers finds its jobs
through Procrastinate's stalled-job API and retries them, and the run's claim (run/lifecycle.py)
lets only that same job pick the run up again, so it still ends exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from connectorhub.db import libpq_conninfo
from connectorhub.worker.claimants import job_claimant
from connectorhub.worker.context import JobContext
from connectorhub.worker.queue import Job, run_every_start
from connectorhub.worker.registry import JOBS, PERIODIC, JobFunction

log = logging.getLogger(__name__)
RETRY_STALLED = "retry_stalled_jobs"


def _check_interval(stalled_after: int) -> int:
    # How often surviving workers look for stalled jobs: a third of the silence that marks a
    # worker dead, as a divisor of 60 so the seconds column of the cron stays regular.
    wanted = max(1, stalled_after // 3)
    return max(n for n in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if n <= wanted)


class ProcrastinateQueue:
    def __init__(self, context: JobContext):
        self.context = context
        settings = context.settings
        self.stalled_after = settings.worker_stalled_after_seconds
        self.concurrency = settings.worker_concurrency
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(settings.resolved_database_url),
            kwargs={"application_name": "connectorhub-jobs"},
        )
        self.app = procrastinate.App(connector=connector)
        self._opened = False
        # Procrastinate's open_async sets its pool before opening it: a second caller arriving
        # meanwhile would take a pool still connecting. One opener at a time; made per opening
        # because an asyncio lock belongs to the loop that first waits on it.
        self._opening: asyncio.Lock | None = None
        self._register_tasks()

    def _register_tasks(self) -> None:
        # A job that raises (the database away for a moment, say) is tried again; the claim
        # makes a retry of a run that already ended a no-op.
        retry = procrastinate.RetryStrategy(max_attempts=5, wait=2, exponential_wait=2)
        for name, function in JOBS.items():
            self.app.task(name=name, pass_context=True, retry=retry)(_job_task(function))
        for periodic in PERIODIC.values():
            task = self.app.task(name=periodic.name, queueing_lock=periodic.name, pass_context=True)
            self.app.periodic(cron=periodic.cron)(task(_periodic_task(periodic.function)))

        stalled_after = self.stalled_after

        @self.app.periodic(cron=f"* * * * * */{_check_interval(stalled_after)}")
        @self.app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED, pass_context=True)
        async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
            manager = context.app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                log.warning("job %s (%s) lost its worker: retrying it", job.id, job.task_name)
                await manager.retry_job(job)

    async def open(self) -> None:
        """Open the job database's pool (once; concurrent callers wait for the one opening).
        `serve` opens it at start, so a burst of first requests never waits on it."""
        if self._opened:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self._opened:
                await self.app.open_async()
                self._opened = True

    async def defer(self, jobs: list[Job]) -> None:
        await self.open()
        for job in jobs:
            task = self.app.configure_task(job.name, queueing_lock=job.lock, schedule_at=job.at)
            with contextlib.suppress(AlreadyEnqueued):  # the same job already waits
                await task.defer_async(**job.kwargs)

    async def run_worker(
        self,
        *,
        concurrency: int | None = None,
        name: str | None = None,
        install_signal_handlers: bool = True,
        shutdown_graceful_timeout: float | None = None,
    ) -> None:
        """Run jobs until stopped (SIGINT/SIGTERM finish the running ones first), after the
        `@at_every_start` work (the tap directories a killed process of this host left)."""
        await self.open()
        await run_every_start(self.context)
        await self.app.run_worker_async(
            concurrency=concurrency or self.concurrency,
            name=name,
            update_heartbeat_interval=self.stalled_after / 3,
            stalled_worker_timeout=self.stalled_after,
            additional_context={"connectorhub": self.context},
            install_signal_handlers=install_signal_handlers,
            shutdown_graceful_timeout=shutdown_graceful_timeout,
            delete_jobs="successful",
        )

    async def drain(self) -> None:
        """Run every job waiting now, then return (tests, one-off runs)."""
        await self.open()
        await self.app.run_worker_async(
            wait=False,
            additional_context={"connectorhub": self.context},
            install_signal_handlers=False,
        )

    async def stop(self) -> None:
        if self._opened:
            await self.app.close_async()
            self._opened = False
        self._opening = None


def _job_task(function: JobFunction) -> Any:
    async def task(context: procrastinate.JobContext, **kwargs: Any) -> None:
        ours: JobContext = context.additional_context["connectorhub"]
        assert context.job.id is not None
        # The attempt fences off an earlier one still running on a worker taken for dead.
        claimant = job_claimant(context.job.id, context.job.attempts)
        await function(ours.as_claimant(claimant), **kwargs)

    task.__name__ = task.__qualname__ = function.__name__
    return task


def _periodic_task(function: JobFunction) -> Any:
    async def task(context: procrastinate.JobContext, timestamp: int) -> None:
        await function(context.additional_context["connectorhub"])

    task.__name__ = task.__qualname__ = function.__name__
    return task
