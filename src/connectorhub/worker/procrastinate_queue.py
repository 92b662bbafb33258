"""PostgreSQL: background jobs on Procrastinate, run by `connectorhub worker` processes.

The API process only defers (after its commit, see `worker.queue.transaction`); any number of
worker processes on any machines run the jobs. A worker killed mid-job stops sending heartbeats;
a periodic task on the surviving workers finds its jobs through Procrastinate's stalled-job API
and retries them, and the execution's claim (see `execution.service.claim`) lets only that same
job pick the run up again, so it still ends exactly once. Another periodic task queues a job
again for executions left queued a minute after their commit (their job was lost), and one
starts the source syncs whose cron schedule is due.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from connectorhub.worker.queue import Job

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)
RETRY_STALLED = "retry_stalled_jobs"
REQUEUE_ORPHANS = "requeue_lost_execution_jobs"
START_SCHEDULED = "start_scheduled_syncs"


def libpq_conninfo(database_url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy) → `postgresql://…` (libpq, for Procrastinate)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _check_interval(stalled_after: int) -> int:
    # How often surviving workers look for stalled jobs: a third of the silence that marks a
    # worker dead, as a divisor of 60 so the seconds column of the cron stays regular.
    wanted = max(1, stalled_after // 3)
    return max(n for n in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if n <= wanted)


class ProcrastinateQueue:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.stalled_after = hub.settings.worker_stalled_after_seconds
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(hub.settings.resolved_database_url),
            kwargs={"application_name": "connectorhub-jobs"},
        )
        self.app = procrastinate.App(connector=connector)
        self._opened = False
        self._register_tasks()

    def _register_tasks(self) -> None:
        from connectorhub.worker.registry import JOBS

        # A job that raises (the database away for a moment, say) is tried again; the claim
        # makes a retry of an execution that already ended a no-op.
        retry = procrastinate.RetryStrategy(max_attempts=5, wait=2, exponential_wait=2)
        for name, function in JOBS.items():
            self.app.task(name=name, pass_context=True, retry=retry)(_job_task(function))

        stalled_after = self.stalled_after

        @self.app.periodic(cron="* * * * *")
        @self.app.task(name=REQUEUE_ORPHANS, queueing_lock=REQUEUE_ORPHANS, pass_context=True)
        async def requeue_lost_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
            from connectorhub.execution.tasks import requeue_orphans

            await requeue_orphans(context.additional_context["hub"])

        @self.app.periodic(cron="* * * * *")
        @self.app.task(name=START_SCHEDULED, queueing_lock=START_SCHEDULED, pass_context=True)
        async def start_scheduled_syncs(context: procrastinate.JobContext, timestamp: int) -> None:
            from connectorhub.sync.tasks import start_due_syncs

            await start_due_syncs(context.additional_context["hub"])

        @self.app.periodic(cron=f"* * * * * */{_check_interval(stalled_after)}")
        @self.app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED, pass_context=True)
        async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
            manager = context.app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                log.warning("job %s (%s) lost its worker: retrying it", job.id, job.task_name)
                await manager.retry_job(job)

    async def _ensure_open(self) -> None:
        if not self._opened:
            await self.app.open_async()
            self._opened = True

    async def defer(self, jobs: list[Job]) -> None:
        await self._ensure_open()
        for job in jobs:
            task = self.app.configure_task(job.name, queueing_lock=job.lock)
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
        """Run jobs until stopped (SIGINT/SIGTERM finish the running ones first)."""
        await self._ensure_open()
        await self.app.run_worker_async(
            concurrency=concurrency or self.hub.settings.worker_concurrency,
            name=name,
            update_heartbeat_interval=self.stalled_after / 3,
            stalled_worker_timeout=self.stalled_after,
            additional_context={"hub": self.hub},
            install_signal_handlers=install_signal_handlers,
            shutdown_graceful_timeout=shutdown_graceful_timeout,
            delete_jobs="successful",
        )

    async def drain(self) -> None:
        """Run every job waiting now, then return (tests, one-off runs)."""
        await self._ensure_open()
        await self.app.run_worker_async(
            wait=False, additional_context={"hub": self.hub}, install_signal_handlers=False
        )

    async def stop(self) -> None:
        if self._opened:
            await self.app.close_async()
            self._opened = False


def _job_task(function: Any) -> Any:
    async def task(context: procrastinate.JobContext, **kwargs: Any) -> None:
        hub = context.additional_context["hub"]
        # The attempt fences off an earlier one still running on a worker taken for dead.
        await function(hub, claimant=f"job:{context.job.id}#{context.job.attempts}", **kwargs)

    task.__name__ = task.__qualname__ = function.__name__
    return task
