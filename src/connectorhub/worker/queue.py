"""Background jobs: deferred only after the transaction that made their rows commits.

Jobs carry ids and flags, never secrets. `defer_after_commit` records a job on the session;
`transaction` commits and only then hands the recorded jobs to the queue (a rollback drops them).
The embedded default runs them in this process (`InProcessQueue`); PostgreSQL hands them to
Procrastinate (`worker.procrastinate_queue`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_PENDING = "connectorhub.pending_jobs"


@dataclass(frozen=True)
class Job:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # At most one waiting job per lock (Procrastinate's queueing lock).
    lock: str | None = None


def defer_after_commit(session: AsyncSession, job: Job) -> None:
    """Queue `job` once this session's transaction commits; dropped if it rolls back."""
    session.info.setdefault(_PENDING, []).append(job)


def take_pending(session: AsyncSession) -> list[Job]:
    return session.info.pop(_PENDING, [])


JobFunction = Callable[..., Awaitable[None]]


class InProcessQueue:
    """Runs jobs on this process's event loop, at most `concurrency` at a time.

    Consumers start with the first job, so any process that defers one also runs it.
    """

    def __init__(self, runner: Callable[[Job], Awaitable[None]], concurrency: int = 10):
        self._run = runner
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Job] | None = None
        self._consumers: list[asyncio.Task[None]] = []

    def _ensure_started(self) -> asyncio.Queue[Job]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._consumers = [
                asyncio.create_task(self._consume(), name=f"connectorhub-worker-{n}")
                for n in range(self._concurrency)
            ]
        return self._queue

    async def defer(self, jobs: list[Job]) -> None:
        queue = self._ensure_started()
        for job in jobs:
            queue.put_nowait(job)

    async def _consume(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                await self._run(job)
            except Exception:  # one failing job must not stop the worker
                log.exception("job %s %s failed", job.name, job.kwargs)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued job has run (tests, graceful shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self) -> None:
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers, self._queue = [], None


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], queue: Any
) -> AsyncIterator[AsyncSession]:
    """One transaction; on commit, its deferred jobs go to `queue`."""
    async with sessionmaker() as session:
        async with session.begin():
            yield session
        jobs = take_pending(session)
        if jobs:
            await queue.defer(jobs)
