"""The background job that runs one execution: claim, run the steps, finish exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus
from connectorhub.execution.repository import ExecutionRepository
from connectorhub.execution.runner import Runner, StepRecord
from connectorhub.kit.driver_errors import AuthFailed, DriverError, FatalError
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)
WORKER_ACTOR = "worker"
# How often a running execution's steps are written for the live views (they poll every second).
PROGRESS_SECONDS = 0.5


class _Cancelled(Exception):
    pass


class _Progress:
    """The steps so far. A background flusher writes them for the live views at most every
    PROGRESS_SECONDS (a short chain writes none: finish stores every step); a cancel is looked
    up before each later step starts, so a running execution stops before its next step."""

    def __init__(self, hub: Hub, tenant_id: str, execution_id: uuid.UUID, claimant: str):
        self.hub, self.tenant_id, self.execution_id = hub, tenant_id, execution_id
        self.claimant = claimant
        self.steps: list[dict[str, Any]] = []
        self._dirty = False
        self._stopping = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_now_and_then())

    async def stop(self) -> None:
        # Never cancelled mid-write: the flusher ends after the write it may be doing.
        self._stopping.set()
        if self._flusher is not None:
            await self._flusher

    def abandon(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()

    async def _flush_now_and_then(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), PROGRESS_SECONDS)
            if self._dirty and not self._stopping.is_set():
                self._dirty = False
                try:
                    async with self.hub.transaction() as session:
                        scope = await WorkspaceScope.open(session, self.tenant_id, WORKER_ACTOR)
                        await service.save_progress(
                            scope, self.execution_id, list(self.steps), self.claimant
                        )
                except Exception:  # a missed progress write must not stop the run
                    log.warning("progress of %s not written", self.execution_id, exc_info=True)

    async def on_step(self, index: int, record: StepRecord) -> None:
        self.steps[index : index + 1] = [record.to_json()]
        self._dirty = True
        if record.status == "running" and index > 0:
            async with self.hub.sessionmaker() as session, session.begin():
                scope = await WorkspaceScope.open(session, self.tenant_id, WORKER_ACTOR)
                cancel_asked = await service.cancel_asked(scope, self.execution_id)
            if cancel_asked:
                self.steps.pop()  # the step that was about to start never ran
                raise _Cancelled


async def run_execution(
    hub: Hub, tenant_id: str, execution_id: str, *, claimant: str, take_over: bool = False
) -> None:
    """Each phase is its own short transaction, so progress is visible while it runs."""
    execution_uuid = uuid.UUID(execution_id)
    async with hub.transaction() as session:
        scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
        claimed = await service.claim(
            scope, hub.box, execution_uuid, claimant=claimant, take_over=take_over
        )
    if claimed is None:
        return
    progress = _Progress(hub, tenant_id, execution_uuid, claimant)
    progress.start()

    status, output, error, auth_failed = ExecutionStatus.succeeded, None, None, False
    try:
        if claimed.problem:
            raise FatalError(claimed.problem)
        output = await Runner(hub.outbound, hub.address_policy).run(
            claimed.definition, claimed.values, progress.on_step
        )
    except _Cancelled:
        status, error = ExecutionStatus.cancelled, "cancelled while running"
    except asyncio.CancelledError:  # shutting down: the flusher goes with it
        progress.abandon()
        raise
    except DriverError as failure:
        status, error = ExecutionStatus.failed, failure.message
        auth_failed = isinstance(failure, AuthFailed)
    except Exception:  # a bug must not leave the execution running forever
        log.exception("execution %s in %s crashed", execution_id, tenant_id)
        status, error = ExecutionStatus.failed, "internal error while running (see the logs)"
    await progress.stop()
    steps = progress.steps
    try:
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            await service.finish(
                scope, execution_uuid, status, steps=steps, output=output, error=error,
                auth_failed=auth_failed, claimant=claimant,
            )  # fmt: skip
    except Exception:
        # What the third party sent could not be stored (say, a NUL PostgreSQL refuses):
        # end it as failed without those details rather than leave it running.
        log.exception("execution %s in %s: storing the result failed", execution_id, tenant_id)
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            await service.finish(
                scope, execution_uuid, ExecutionStatus.failed, steps=[],
                error="the result could not be stored (see the logs)", claimant=claimant,
            )  # fmt: skip


ORPHAN_AGE = timedelta(minutes=1)


async def requeue_orphans(hub: Hub, older_than: timedelta = ORPHAN_AGE) -> int:
    """Queue a job again for executions still queued after `older_than` (their job was lost:
    say, the process died between its commit and handing the job over). Jobs already waiting
    are not doubled (each execution's job has a queueing lock), and a duplicate that does run
    finds its execution claimed or finished and does nothing."""
    from connectorhub.tenant.service import workspace_ids

    async with hub.sessionmaker() as session, session.begin():
        tenants = list(await workspace_ids(session))
    cutoff = utcnow() - older_than
    jobs = []
    for tenant_id in tenants:
        async with hub.sessionmaker() as session, session.begin():
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            orphans = await ExecutionRepository(scope).queued_before(cutoff)
        jobs += [service.run_job(tenant_id, execution_id) for execution_id in orphans]
    if jobs:
        log.warning("requeueing %d executions whose job was lost", len(jobs))
        await hub.jobs.defer(jobs)
    return len(jobs)
