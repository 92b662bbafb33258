"""The background jobs of executions: run one (claim, run the steps, finish exactly once), put
back the ones a lost hand-over left queued, and requeue at start-up what a killed embedded
process left unfinished."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import Any

from connectorhub.db import WorkspaceScope
from connectorhub.definition.values import RunValues
from connectorhub.execution import secret_input, service
from connectorhub.execution.models import Execution, ExecutionStatus
from connectorhub.execution.repository import ExecutionRepository
from connectorhub.execution.runner import Renew, Runner, StepRecord
from connectorhub.kit.driver_errors import AuthFailed, DriverError, FatalError
from connectorhub.kit.models import utcnow
from connectorhub.oauth.tokens import Holder, ReconnectNeeded, TokenKeeper, usable
from connectorhub.run.repository import requeue_unfinished
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import at_startup, job, periodic

log = logging.getLogger(__name__)
WORKER_ACTOR = "worker"
# How often a running execution's steps are written for the live views (they poll every second).
PROGRESS_SECONDS = 0.5
ORPHAN_AGE = timedelta(minutes=1)


class _Stopped(Exception):
    """A cancel was asked for, or the claim moved to another attempt: stop before the next
    step."""


class _Progress:
    """The steps so far. A background flusher writes them for the live views at most every
    PROGRESS_SECONDS (a short chain writes none: finish stores every step); each write says
    whether the run should stop. Before each later step starts, one read asks the same (a
    cancel, or the claim moved to another attempt), so a running execution stops before its
    next step."""

    def __init__(
        self, ctx: JobContext, tenant_id: str, execution_id: uuid.UUID, claimed: service.Claimed
    ):
        self.ctx, self.tenant_id, self.execution_id = ctx, tenant_id, execution_id
        # What an earlier attempt finished stays; the run goes on after it.
        self.steps: list[dict[str, Any]] = list(claimed.steps)
        self.first = len(claimed.done)
        self.checkpoints: dict[str, str] = {}  # sealed values of the steps this attempt ran
        self._dirty = False
        self._stop_seen = False  # a progress write found a cancel or a lost claim
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
                    async with self.ctx.work.workspace(self.tenant_id, WORKER_ACTOR) as scope:
                        cancel = await service.save_progress(
                            scope, self.execution_id, list(self.steps), self.ctx.claimant,
                            dict(self.checkpoints),
                        )  # fmt: skip
                    self._stop_seen = self._stop_seen or cancel is not False
                except Exception:  # a missed progress write must not stop the run
                    log.warning("progress of %s not written", self.execution_id, exc_info=True)

    async def on_extracted(self, index: int, extracted: dict[str, Any]) -> None:
        key, sealed = secret_input.seal_step(
            self.ctx.box, self.tenant_id, service.TABLE, self.execution_id, index, extracted
        )
        self.checkpoints[key] = sealed

    async def on_step(self, index: int, record: StepRecord) -> None:
        self.steps[index : index + 1] = [record.to_json()]
        self._dirty = True
        if record.status == "running" and index > self.first:
            # One fenced write before each later step: the steps so far and their checkpoints
            # are stored (a retry after a crash resumes here, sending none of them again), and
            # it says whether to stop (a cancel, or the claim moved to another attempt).
            if not self._stop_seen:
                async with self.ctx.work.workspace(self.tenant_id, WORKER_ACTOR) as scope:
                    cancel = await service.save_progress(
                        scope, self.execution_id, list(self.steps), self.ctx.claimant,
                        dict(self.checkpoints),
                    )  # fmt: skip
                self._stop_seen = cancel is not False
            if self._stop_seen:
                self.steps.pop()  # the step that was about to start never ran
                raise _Stopped


async def renewing_credentials(ctx: JobContext, tenant_id: str, values: RunValues) -> Renew:
    """oauth2 workspace credentials that name a provider: renewed now when due, and the
    runner's way to renew one the provider refuses (oauth/tokens.py). Raises DriverError."""
    keeper = TokenKeeper.of(ctx)
    for name, credential in values.workspace.items():
        if credential.renewable:
            holder = Holder.credential(credential.credential_id)
            credential.value = (await usable(keeper, tenant_id, holder)).get("access_token")
            if not credential.value:
                raise FatalError(f"workspace credential {name!r} is not connected yet: connect "
                                 "it under Settings → Credentials")  # fmt: skip

    async def renew(name: str, refused: Any) -> Any:
        holder = Holder.credential(values.workspace[name].credential_id)
        return (await usable(keeper, tenant_id, holder, refused=refused))["access_token"]

    return renew


@job
async def run_execution(
    ctx: JobContext, tenant_id: str, execution_id: str, *, take_over: bool = False
) -> None:
    """Each phase is its own short transaction, so progress is visible while it runs."""
    execution_uuid = uuid.UUID(execution_id)
    async with ctx.work.workspace(tenant_id, WORKER_ACTOR) as scope:
        claimed = await service.claim(
            scope, ctx.box, execution_uuid, claimant=ctx.claimant, take_over=take_over
        )
    if claimed is None:
        return
    await run_claimed(ctx, tenant_id, execution_uuid, claimed)


async def run_claimed(
    ctx: JobContext, tenant_id: str, execution_uuid: uuid.UUID, claimed: service.Claimed
) -> Execution | None:
    """Run a claimed execution's steps and finish it; returns it as ended (None: this
    claimant no longer held it)."""
    progress = _Progress(ctx, tenant_id, execution_uuid, claimed)
    progress.start()
    mask = claimed.values.secret_mask()  # the runner adds what it meets on the way

    status, output, error, auth_failed = ExecutionStatus.succeeded, None, None, False
    try:
        if claimed.problem:
            raise FatalError(claimed.problem)
        renew = await renewing_credentials(ctx, tenant_id, claimed.values)
        mask.add([credential.value for credential in claimed.values.workspace.values()])
        output = await Runner(ctx.outbound.session, ctx.outbound.policy, renew=renew).run(
            claimed.definition, claimed.values, progress.on_step, mask=mask,
            run_id=execution_uuid, done=claimed.done, on_extracted=progress.on_extracted,
        )  # fmt: skip
    except _Stopped:
        status, error = ExecutionStatus.cancelled, "cancelled while running"
    except asyncio.CancelledError:  # shutting down: the flusher goes with it
        progress.abandon()
        raise
    except DriverError as failure:
        status, error = ExecutionStatus.failed, mask.text(failure.message)
        # A dead OAuth grant was marked and notified where it was found (its credential).
        auth_failed = isinstance(failure, AuthFailed) and not isinstance(failure, ReconnectNeeded)
    except Exception:  # a bug must not leave the execution running forever
        mask.log_exception(log, "execution %s in %s crashed", execution_uuid, tenant_id)
        status, error = ExecutionStatus.failed, "internal error while running (see the logs)"
    await progress.stop()
    try:
        async with ctx.work.workspace(tenant_id, WORKER_ACTOR) as scope:
            ended = await service.finish(
                scope, execution_uuid, status, steps=progress.steps, output=output, error=error,
                auth_failed=auth_failed, claimant=ctx.claimant,
            )  # fmt: skip
        return ended
    except Exception:
        # What the third party sent could not be stored (say, a NUL PostgreSQL refuses):
        # end it as failed without those details rather than leave it running.
        mask.log_exception(
            log, "execution %s in %s: storing the result failed", execution_uuid, tenant_id
        )
        async with ctx.work.workspace(tenant_id, WORKER_ACTOR) as scope:
            return await service.finish(
                scope, execution_uuid, ExecutionStatus.failed, steps=[],
                error="the result could not be stored (see the logs)", claimant=ctx.claimant,
            )  # fmt: skip


@periodic(cron="* * * * *")
async def requeue_lost_execution_jobs(ctx: JobContext, older_than: timedelta = ORPHAN_AGE) -> int:
    """Queue a job again for executions still queued after `older_than` (their job was lost:
    say, the process died between its commit and handing the job over). Jobs already waiting
    are not doubled (each execution's job has a queueing lock), and a duplicate that does run
    finds its execution claimed or finished and does nothing."""
    cutoff = utcnow() - older_than

    async def requeue(scope: WorkspaceScope) -> int:
        orphans = await ExecutionRepository(scope).queued_before(cutoff)
        for execution_id in orphans:
            scope.defer(service.run_job(scope.tenant_id, execution_id))
        return len(orphans)

    requeued = sum((await ctx.work.for_each_workspace(WORKER_ACTOR, requeue)).values())
    if requeued:
        log.warning("requeued %d executions whose job was lost", requeued)
    return requeued


@at_startup
async def requeue_unfinished_executions(ctx: JobContext) -> int:
    """Embedded default, at start: whoever claimed these before is gone (this process is the
    only worker), so each is taken over."""
    return await requeue_unfinished(
        ctx.work,
        Execution,
        lambda tenant_id, run_id: service.run_job(tenant_id, run_id, take_over=True),
    )
