"""Background jobs: deferred only after the transaction that made their rows commits.

Jobs carry ids and flags, never secrets. A unit of work (db.py) records the jobs deferred in its
transaction and hands them to the queue once it commits (a rollback drops them). The embedded
default runs them in this process (`InProcessQueue`); PostgreSQL hands them to Procrastinate
(`worker.procrastinate_queue`). Both run what the domains registered (`worker.registry`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import AT_EVERY_START, AT_STARTUP, JOBS, PERIODIC

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # At most one waiting job per lock (Procrastinate's queueing lock).
    lock: str | None = None
    # Not before this time (a scheduled publication, a retry at the provider's reset time).
    at: datetime | None = None


async def run_job(context: JobContext, job: Job) -> None:
    await JOBS[job.name](context, **job.kwargs)


async def run_every_start(context: JobContext) -> None:
    """The `@at_every_start` work of a process that has just started (one failing is logged,
    the others still run)."""
    for name, function in AT_EVERY_START.items():
        try:
            await function(context)
        except Exception:
            log.exception("start-up job %s failed", name)


class InProcessQueue:
    """The embedded default's worker: runs jobs on this process's event loop, at most
    `concurrency` at a time, plus the registered start-up and periodic work.

    Consumers start with the first job, so any process that defers one also runs it.
    """

    def __init__(self, context: JobContext, concurrency: int = 10):
        self.context = context
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: set[asyncio.Task[None]] = set()  # jobs deferred to a later time

    def _ensure_started(self) -> asyncio.Queue[Job]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks += [
                asyncio.create_task(self._consume(), name=f"connectorhub-worker-{n}")
                for n in range(self._concurrency)
            ]
        return self._queue

    async def defer(self, jobs: list[Job]) -> None:
        queue = self._ensure_started()
        for job in jobs:
            delay = (job.at - datetime.now(UTC)).total_seconds() if job.at else 0
            if delay > 0:
                # Kept in memory only: a restart requeues what is due (each domain's start-up).
                later = asyncio.create_task(self._later(job, delay))
                self._waiting.add(later)
                later.add_done_callback(self._waiting.discard)
            else:
                queue.put_nowait(job)

    async def _later(self, job: Job, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._queue is not None:
            self._queue.put_nowait(job)

    async def _consume(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                await run_job(self.context, job)
            except Exception:  # one failing job must not stop the worker
                log.exception("job %s %s failed", job.name, job.kwargs)
            finally:
                self._queue.task_done()

    async def recover(self) -> None:
        """This process is the only worker and has just started: run the start-up work (each
        domain requeues what a killed process left unfinished), after what every process does
        at its start."""
        await run_every_start(self.context)
        for name, function in AT_STARTUP.items():
            try:
                await function(self.context)
            except Exception:
                log.exception("start-up job %s failed", name)

    def start_periodic(self, every_seconds: float) -> asyncio.Task[None] | None:
        """Run the periodic jobs marked `embedded` every `every_seconds` until stopped."""
        embedded = [p for p in PERIODIC.values() if p.embedded]
        if not (embedded and every_seconds):
            return None
        task = asyncio.create_task(self._every(embedded, every_seconds))
        self._tasks.append(task)
        return task

    async def _every(self, periodic: list[Any], every_seconds: float) -> None:
        while True:
            for task in periodic:
                try:
                    await task.function(self.context)
                except Exception:  # the database away for a moment: try again next turn
                    log.exception("periodic job %s failed", task.name)
            await asyncio.sleep(every_seconds)

    async def drain(self) -> None:
        """Wait until every queued job has run (tests, graceful shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self) -> None:
        pending = [*self._tasks, *self._waiting]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._tasks, self._queue = [], None
