"""The background job that runs one execution: claim, run the steps, finish exactly once."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus
from connectorhub.execution.runner import Runner, StepRecord
from connectorhub.kit.driver_errors import AuthFailed, DriverError, FatalError
from connectorhub.kit.repository import WorkspaceScope

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)
WORKER_ACTOR = "worker"


class _Cancelled(Exception):
    pass


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
    steps: list[dict[str, Any]] = []

    async def on_step(index: int, record: StepRecord) -> None:
        steps[index : index + 1] = [record.to_json()]
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            cancel_asked = await service.save_progress(scope, execution_uuid, steps)
        if cancel_asked and record.status == "running":
            steps.pop()  # the step that was about to start never ran
            raise _Cancelled

    status, output, error, auth_failed = ExecutionStatus.succeeded, None, None, False
    try:
        if claimed.problem:
            raise FatalError(claimed.problem)
        output = await Runner(hub.outbound, hub.address_policy).run(
            claimed.definition, claimed.values, on_step
        )
    except _Cancelled:
        status, error = ExecutionStatus.cancelled, "cancelled while running"
    except DriverError as failure:
        status, error = ExecutionStatus.failed, failure.message
        auth_failed = isinstance(failure, AuthFailed)
    except Exception:  # a bug must not leave the execution running forever
        log.exception("execution %s in %s crashed", execution_id, tenant_id)
        status, error = ExecutionStatus.failed, "internal error while running (see the logs)"
    try:
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            await service.finish(
                scope, execution_uuid, status, steps=steps, output=output, error=error,
                auth_failed=auth_failed,
            )  # fmt: skip
    except Exception:
        # What the third party sent could not be stored (say, a NUL PostgreSQL refuses):
        # end it as failed without those details rather than leave it running.
        log.exception("execution %s in %s: storing the result failed", execution_id, tenant_id)
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, WORKER_ACTOR)
            await service.finish(
                scope, execution_uuid, ExecutionStatus.failed, steps=[],
                error="the result could not be stored (see the logs)",
            )  # fmt: skip
