"""Execution rules: start (validated, idempotent), claim, progress, finish, cancel, read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.unreadable import auth_or_reason
from connectorhub.credential import service as credentials
from connectorhub.db import UnitOfWork
from connectorhub.definition.model import Definition
from connectorhub.definition.values import RunValues
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.execution import secret_input
from connectorhub.execution.models import Execution, ExecutionStatus, Trigger
from connectorhub.execution.repository import ExecutionRepository
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.polling import poll_until
from connectorhub.kit.repository import Page, WorkspaceScope
from connectorhub.kit.schema_validation import error_map
from connectorhub.kit.sealing import SecretsUnreadable
from connectorhub.kit.secret_schema import secret_paths
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.run import lifecycle
from connectorhub.run.models import end_run
from connectorhub.run.signals import FALLBACK_SECONDS, RunSignals
from connectorhub.webhook import events as webhooks
from connectorhub.worker.queue import Job

TABLE = Execution.__tablename__


def with_defaults(run_input: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Top-level input fields left out take the input schema's defaults."""
    properties = schema.get("properties") or {}
    defaults = {
        name: spec["default"]
        for name, spec in properties.items()
        if isinstance(spec, dict) and "default" in spec and name not in run_input
    }
    return {**defaults, **run_input}


async def _runnable(scope: WorkspaceScope, connector_id: uuid.UUID) -> tuple[Connector, Definition]:
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id)
    if connector is None:
        raise NotFound("connector not found")
    if connector.definition is None:
        raise BadRequest("this connector has no definition to run (only HTTP connectors run)")
    if connector.status != ConnectorStatus.active.value:
        raise Conflict(
            f"the connector is {connector.status}: activate it before running it"
            + (f" (last error: {connector.status_reason})" if connector.status_reason else "")
        )
    return connector, Definition.model_validate(connector.definition)


async def start(
    scope: WorkspaceScope,
    box: SecretBox,
    connector_id: uuid.UUID,
    run_input: dict[str, Any],
    *,
    trigger: Trigger,
    idempotency_key: str | None,
    defer: bool = True,
) -> tuple[Execution, bool]:
    """Create a queued execution (and its job, after commit). Returns it and whether it is new.

    A repeated Idempotency-Key returns the first execution. Raises NotFound, BadRequest,
    Conflict (inactive connector), ValidationFailed (input against the input schema).
    """
    repository = ExecutionRepository(scope)
    if idempotency_key:
        existing = await repository.by_idempotency_key(connector_id, idempotency_key)
        if existing is not None:
            return existing, False
    _, definition = await _runnable(scope, connector_id)
    run_input = with_defaults(run_input, definition.input_schema)
    errors = error_map(run_input, definition.input_schema, prefix="input")
    if errors:
        raise ValidationFailed(errors)
    execution = Execution(
        id=uuid.uuid4(),
        connector_id=connector_id,
        status=ExecutionStatus.queued.value,
        trigger=trigger.value,
        idempotency_key=idempotency_key,
        steps=[],
        attempt=0,
        cancel_requested=False,
    )
    secret = secret_paths(definition.input_schema, run_input)
    execution.input = secret_input.masked(run_input, secret)
    execution.sealed_input = secret_input.seal(
        box, scope.tenant_id, TABLE, execution.id, run_input, secret
    )
    execution, created = await repository.add_once(
        execution, lambda: repository.by_idempotency_key(connector_id, idempotency_key or "")
    )
    if not created:
        return execution, False
    if defer:
        scope.defer(run_job(scope.tenant_id, execution.id))
    return execution, True


def run_job(tenant_id: str, execution_id: uuid.UUID, *, take_over: bool = False) -> Job:
    kwargs: dict[str, Any] = {"tenant_id": tenant_id, "execution_id": str(execution_id)}
    if take_over:
        kwargs["take_over"] = True
    return Job("run_execution", kwargs, lock=f"execution:{execution_id}")


@dataclass
class Claimed:
    definition: Definition
    values: RunValues
    # Why it cannot run at all (say, a workspace credential it names was deleted, or a sealed
    # value no key opens): it ends failed with this, and nothing retries it.
    problem: str | None = None
    # What an earlier attempt finished: those steps' records, and their extracted values as
    # they were (the records show them masked); the run resumes after them.
    steps: list[dict[str, Any]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)


async def claim(
    scope: WorkspaceScope,
    box: SecretBox,
    execution_id: uuid.UUID,
    *,
    claimant: str,
    take_over: bool = False,
) -> Claimed | None:
    """Mark a queued execution running for `claimant` and gather what it needs.

    A running one is taken again only by the claimant that had it (the same queue job, retried
    after its worker died) or with `take_over` (this process is the only worker and restarted);
    it resumes at its first unfinished step. Returns None when there is nothing to do: finished
    already (each execution ends once), running elsewhere, gone, or cancelled while queued.
    Sealed values no key opens are a `problem` (the connector's own auth also puts the
    connector in error), never an exception: the execution ends failed instead of staying
    queued for retries that cannot help.
    """
    execution = await ExecutionRepository(scope).get_for_update(execution_id)
    if not lifecycle.claim(execution, claimant=claimant, take_over=take_over):
        return None
    assert execution is not None
    return await _gather(scope, box, execution)


async def start_claimed(
    scope: WorkspaceScope,
    box: SecretBox,
    connector_id: uuid.UUID,
    run_input: dict[str, Any],
    *,
    trigger: Trigger,
    idempotency_key: str | None,
    claimant: str,
) -> tuple[Execution, Claimed | None]:
    """`start` and `claim` in the one transaction (the embedded default's `?wait=true`, which
    runs the execution in this process right after the commit): a new execution is committed
    running for `claimant`, with what it needs to run. A repeated Idempotency-Key returns the
    first execution and no claim. Raises as `start` does. Should this process die before the run
    ends, the start-up recovery takes it over as any running one."""
    execution, created = await start(
        scope, box, connector_id, run_input,
        trigger=trigger, idempotency_key=idempotency_key, defer=False,
    )  # fmt: skip
    if not created or not lifecycle.claim(execution, claimant=claimant, take_over=False):
        return execution, None
    return execution, await _gather(scope, box, execution)


async def _gather(scope: WorkspaceScope, box: SecretBox, execution: Execution) -> Claimed:
    """What a claimed execution needs to run (see `claim`)."""
    # Its own columns only: the catalog entry (schemas and all) is not needed to run.
    connector = await ConnectorRepository(scope).get(execution.connector_id)
    assert connector is not None  # executions are deleted with their connector
    definition = Definition.model_validate(connector.definition)
    plain = RunValues(input=dict(execution.input), config=connector.config)
    try:
        done = _resumable(box, scope.tenant_id, execution, definition)
    except SecretsUnreadable:
        execution.steps = []
        return Claimed(definition, plain, problem="the progress of its earlier attempt cannot "
                       "be decrypted: start the execution again")  # fmt: skip
    try:
        run_input, secret_paths = secret_input.unsealed(
            box, scope.tenant_id, TABLE, execution.id, execution.input, execution.sealed_input
        )
    except SecretsUnreadable as error:
        return Claimed(definition, plain, problem=f"secret input {', '.join(error.fields)} "
                       "cannot be decrypted: start the execution again with it")  # fmt: skip
    secrets, problem = await auth_or_reason(scope, box, connector)
    if secrets is None:
        return Claimed(definition, plain, problem=problem)
    try:
        workspace, missing = await credentials.for_run(scope, box, definition.credentials)
    except SecretsUnreadable as error:
        return Claimed(definition, plain, problem=await _credential_unreadable(scope, error))
    problem = None
    if missing:
        problem = (
            f"workspace credential {', '.join(repr(n) for n in missing)} does not exist: "
            "add it under Settings → Credentials"
        )
    return Claimed(
        definition=definition,
        values=RunValues(
            input=run_input,
            config=connector.config,
            secrets=secrets,
            workspace=workspace,
            secret_inputs=secret_paths,
        ),
        problem=problem,
        steps=list(execution.steps),
        done=done,
    )


def _resumable(
    box: SecretBox, tenant_id: str, execution: Execution, definition: Definition
) -> list[dict[str, Any]]:
    """The extracted values of the steps an earlier attempt finished (leading records that
    succeeded, of the same steps, with a checkpoint); their records are kept and the rest of
    the records and checkpoints dropped. Raises SecretsUnreadable."""
    finished = 0
    for record, step in zip(execution.steps, definition.steps, strict=False):
        if record.get("status") != "succeeded" or record.get("name") != step.name:
            break
        finished += 1
    done = secret_input.opened_steps(
        box, tenant_id, TABLE, execution.id, execution.sealed_input, finished
    )
    execution.steps = list(execution.steps[: len(done)])
    kept = {secret_input.step_key(index) for index in range(len(done))}
    execution.sealed_input = {
        key: value
        for key, value in execution.sealed_input.items()
        if key in kept or not key.startswith(secret_input.STEP_PREFIX)
    }
    return done


async def _credential_unreadable(scope: WorkspaceScope, error: SecretsUnreadable) -> str:
    """A workspace credential no key opens: named in the reason, and the workspace told."""
    credential = await credentials.read(scope, uuid.UUID(error.row_id))
    reason = (
        f"workspace credential {credential.name!r} cannot be decrypted — re-enter it under "
        f"Settings → Credentials ({', '.join(error.fields)} could not be decrypted)"
    )
    await notifications.raise_(
        scope, kind="credential.unreadable", subject_id=credential.id, level=Level.error,
        title=f"Workspace credential {credential.name}: unreadable", body=reason,
        link="/settings/credentials",
    )  # fmt: skip
    return reason


async def save_progress(
    scope: WorkspaceScope, execution_id: uuid.UUID, steps: list[dict[str, Any]], claimant: str,
    checkpoints: dict[str, str] | None = None,
) -> bool | None:  # fmt: skip
    """Store the steps so far (and the checkpoints of the steps this attempt finished) while
    `claimant` still holds the run; returns whether a cancel was asked for (None: the claim was
    lost, the run is another attempt's now).

    The checkpoints are merged into the stored sealed fields, never written over them: key
    rotation may have re-sealed those meanwhile, and a copy from the claim would put the old
    key's ciphertexts back after rotation had called that key unused."""
    repository = ExecutionRepository(scope)
    merge = {"sealed_input": checkpoints} if checkpoints else None
    return await repository.save_progress(execution_id, claimant, merge=merge, steps=steps)


async def _notify_failed(scope: WorkspaceScope, execution: Execution, error: str | None) -> None:
    """One notification per failed execution (its id is the subject), linking to its page. The
    error is the one stored: secrets already masked by the run."""
    connector = await ConnectorRepository(scope).get(execution.connector_id)
    name = connector.name if connector is not None else "A connector"
    await notifications.raise_(
        scope, kind="execution.failed", subject_id=execution.id, level=Level.error,
        title=f"{name}: a run failed", body=error or "The run failed.",
        link=f"/executions/{execution.id}",
    )  # fmt: skip


async def finish(
    scope: WorkspaceScope,
    execution_id: uuid.UUID,
    status: ExecutionStatus,
    *,
    steps: list[dict[str, Any]],
    output: dict[str, Any] | None = None,
    error: str | None = None,
    auth_failed: bool = False,
    claimant: str | None = None,
) -> Execution | None:
    """End a running execution exactly once, and count it in the connector's stats. With
    `claimant`, only while that claimant still holds it (an attempt taken for dead and fenced
    off by its retry ends nothing). Returns the ended execution (None: nothing was ended)."""
    execution = await ExecutionRepository(scope).get_for_update(execution_id)
    if not lifecycle.may_finish(execution, claimant):
        return None
    assert execution is not None
    finished_at = end_run(execution, status, error)
    execution.steps = steps
    # Checkpoints are for resuming a run; an ended one keeps none.
    execution.sealed_input = secret_input.without_steps(execution.sealed_input)
    execution.output = output
    connectors = ConnectorRepository(scope)
    if status != ExecutionStatus.cancelled:
        await connectors.record_run(
            execution.connector_id,
            succeeded=status == ExecutionStatus.succeeded,
            duration_ms=execution.duration_ms or 0.0,
            finished_at=finished_at,
        )
    if status == ExecutionStatus.failed and not auth_failed:  # that one says so below, once
        await _notify_failed(scope, execution, error)
    if status in (ExecutionStatus.succeeded, ExecutionStatus.failed):
        await webhooks.emit(
            scope, webhooks.Event(f"execution.{status.value}"),
            {
                "execution_id": str(execution.id), "connector_id": str(execution.connector_id),
                "status": status.value, "trigger": execution.trigger, "error": error,
                "duration_ms": execution.duration_ms, "attempt": execution.attempt,
            },
        )  # fmt: skip
    if auth_failed:
        connector = await connectors.get_with_catalog(execution.connector_id, for_update=True)
        if connector is not None:
            previous = connector.status
            connector.status = ConnectorStatus.error.value
            connector.status_reason = (error or "credentials refused")[:500]
            connectors.touch(connector)
            await notifications.raise_(
                scope,
                kind="connector.auth_failed",
                subject_id=connector.id,
                level=Level.error,
                title=f"{connector.name}: the credentials were refused",
                body=f"{connector.status_reason} The connector is now in error and will not run "
                "until its credentials are fixed and it is activated again.",
                link=f"/connectors/installed?search={quote(connector.name)}",
            )
            await webhooks.connector_status_changed(scope, connector, previous)
    return execution


async def read(scope: WorkspaceScope, execution_id: uuid.UUID) -> Execution:
    """Raises NotFound (also for another workspace's execution)."""
    execution = await ExecutionRepository(scope).get(execution_id)
    if execution is None:
        raise NotFound("execution not found")
    return execution


async def search(
    scope: WorkspaceScope,
    *,
    connector_id: uuid.UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[Execution]:
    return await ExecutionRepository(scope).search(
        connector_id=connector_id, status=status, since=since, until=until,
        page=page, page_size=page_size,
    )  # fmt: skip


async def cancel(scope: WorkspaceScope, execution_id: uuid.UUID) -> Execution:
    """A queued execution is cancelled at once; a running one stops before its next step.
    Raises NotFound; Conflict when it has already finished."""
    execution = await ExecutionRepository(scope).get_for_update(execution_id)
    if execution is None:
        raise NotFound("execution not found")
    lifecycle.request_cancel(execution, "execution")
    ExecutionRepository(scope).touch(execution)
    return execution


# --- Following a run from outside its transaction (`?wait=true`, SSE) -------------------------

WAIT_POLL_SECONDS = 0.05  # a waiting caller learns of the end within this
FOLLOW_POLL_SECONDS = 0.25


async def read_now(work: UnitOfWork, tenant_id: str, execution_id: uuid.UUID) -> Execution:
    """The execution as committed now, in a short transaction of its own. Raises NotFound."""
    async with work.workspace(tenant_id, None) as scope:
        return await read(scope, execution_id)


async def wait_until_finished(
    work: UnitOfWork, tenant_id: str, execution_id: uuid.UUID, *, seconds: float,
    signals: RunSignals | None = None, ended: asyncio.Event | None = None,
    seen: Execution | None = None,
) -> Execution:  # fmt: skip
    """The execution once it has finished, or as it is after `seconds`. With `signals` it is
    read again when told the run ended (and every FALLBACK_SECONDS), else every 50 ms. `ended`:
    a watcher the caller set up before committing the run's queueing (forgotten here); `seen`:
    the execution as that transaction left it, in place of a first read."""

    def read() -> Awaitable[Execution]:
        return read_now(work, tenant_id, execution_id)

    def finished(execution: Execution) -> bool:
        return ExecutionStatus(execution.status).finished

    if signals is None:
        return await poll_until(read, finished, seconds=seconds, every=WAIT_POLL_SECONDS)
    await signals.ready()
    ended = ended or signals.watcher(TABLE, execution_id)
    try:
        return await poll_until(
            read, finished, seconds=seconds, every=FALLBACK_SECONDS, wake=ended, first=seen
        )
    finally:
        signals.forget(TABLE, execution_id, ended)


async def follow(
    work: UnitOfWork,
    tenant_id: str,
    execution_id: uuid.UUID,
    shown: Callable[[Execution], dict[str, Any]],
    *,
    stop: Callable[[], Awaitable[bool]],
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Live progress as `(event, data)`: each step as it starts and ends, status changes (as
    `shown` renders the execution, without its steps), then `end` — also when it is deleted
    meanwhile. Stops early once `stop()` says so (the client went away)."""
    sent_steps: dict[int, Any] = {}
    sent_status = None
    while not await stop():
        try:
            execution = await read_now(work, tenant_id, execution_id)
        except NotFound:
            yield "end", {"status": "deleted"}
            return
        for index, step in enumerate(execution.steps):
            if sent_steps.get(index) != step:
                sent_steps[index] = step
                yield "step", {"index": index, **step}
        if execution.status != sent_status:
            sent_status = execution.status
            yield "status", {k: v for k, v in shown(execution).items() if k != "steps"}
        if ExecutionStatus(execution.status).finished:
            yield "end", {"status": execution.status}
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)


async def per_day(
    scope: WorkspaceScope, since: datetime, *, connector_id: uuid.UUID | None = None
) -> list[tuple[str, str, int]]:
    """(day, status, executions) since `since`, for the charts."""
    return await ExecutionRepository(scope).per_day(since, connector_id=connector_id)


async def latest_per_connector(
    scope: WorkspaceScope, connector_ids: list[uuid.UUID], limit: int
) -> list[Any]:
    """The `limit` newest executions of each connector, oldest first (connector_id,
    created_at, status, duration_ms)."""
    return await ExecutionRepository(scope).latest_per_connector(connector_ids, limit)
