"""Execution rules: start (validated, idempotent), claim, progress, finish, cancel, read."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError

from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.credential import service as credentials
from connectorhub.credential.secrets import MASK, associated_data, open_secrets
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.execution.definition import Definition
from connectorhub.execution.models import Execution, ExecutionStatus, Trigger
from connectorhub.execution.repository import ExecutionRepository
from connectorhub.execution.runner import RunValues
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.models import end_run, utcnow
from connectorhub.kit.repository import Page, WorkspaceScope
from connectorhub.kit.schema_validation import error_map
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.worker.queue import Job, defer_after_commit

TABLE = Execution.__tablename__


def _secret_inputs(schema: dict[str, Any]) -> set[str]:
    """Top-level input fields the schema marks secret: never stored or shown in the clear."""
    properties = schema.get("properties") or {}
    return {
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and (spec.get("writeOnly") or spec.get("format") == "password")
    }


def _with_defaults(run_input: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
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
    run_input = _with_defaults(run_input, definition.input_schema)
    errors = error_map(run_input, definition.input_schema, prefix="input")
    if errors:
        raise ValidationFailed(errors, "the input does not match the connector's input schema")
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
    secret = _secret_inputs(definition.input_schema) & set(run_input)
    execution.input = {k: (MASK if k in secret else v) for k, v in run_input.items()}
    execution.sealed_input = {
        k: box.seal(
            json.dumps(run_input[k]), associated_data(scope.tenant_id, TABLE, execution.id, k)
        )
        for k in secret
    }
    try:
        async with scope.session.begin_nested():
            repository.add(execution)
            await scope.session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its execution.
        existing = await repository.by_idempotency_key(connector_id, idempotency_key or "")
        if existing is None:
            raise
        return existing, False
    if defer:
        defer_after_commit(scope.session, run_job(scope.tenant_id, execution.id))
    return execution, True


def same_job(a: str | None, b: str) -> bool:
    """Claimants are `job:<id>#<attempt>` or a process; a retried job keeps its id."""
    return a is not None and a.split("#")[0] == b.split("#")[0]


def run_job(tenant_id: str, execution_id: uuid.UUID, *, take_over: bool = False) -> Job:
    kwargs: dict[str, Any] = {"tenant_id": tenant_id, "execution_id": str(execution_id)}
    if take_over:
        kwargs["take_over"] = True
    return Job("run_execution", kwargs, lock=f"execution:{execution_id}")


@dataclass
class Claimed:
    definition: Definition
    values: RunValues
    # Why it cannot run at all (say, a workspace credential it names was deleted).
    problem: str | None = None


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
    after its worker died) or with `take_over` (this process is the only worker and restarted).
    Returns None when there is nothing to do: finished already (each execution ends once),
    running elsewhere, gone, or cancelled while queued.
    """
    repository = ExecutionRepository(scope)
    execution = await repository.get_for_update(execution_id)
    if execution is None or ExecutionStatus(execution.status).finished:
        return None
    if execution.status == ExecutionStatus.running.value and not (
        take_over or same_job(execution.claimed_by, claimant)
    ):
        return None
    if execution.cancel_requested:
        end_run(execution, ExecutionStatus.cancelled, "cancelled before it started")
        return None
    # Its own columns only: the catalog entry (schemas and all) is not needed to run.
    connector = await ConnectorRepository(scope).get(execution.connector_id)
    assert connector is not None  # executions are deleted with their connector
    execution.status = ExecutionStatus.running.value
    execution.claimed_by = claimant
    execution.attempt += 1
    execution.started_at = utcnow()
    execution.steps = []
    run_input = dict(execution.input)
    for field, sealed in execution.sealed_input.items():
        opened = box.open(sealed, associated_data(scope.tenant_id, TABLE, execution.id, field))
        run_input[field] = json.loads(opened)
    secrets = open_secrets(
        box, tenant_id=scope.tenant_id, table=Connector.__tablename__,
        row_id=connector.id, stored=connector.auth,
    )  # fmt: skip
    definition = Definition.model_validate(connector.definition)
    workspace, missing = await credentials.for_run(scope, box, definition.credentials)
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
            secret_inputs=set(execution.sealed_input),
        ),
        problem=problem,
    )


async def cancel_asked(scope: WorkspaceScope, execution_id: uuid.UUID) -> bool:
    return await ExecutionRepository(scope).cancel_requested(execution_id)


async def save_progress(
    scope: WorkspaceScope, execution_id: uuid.UUID, steps: list[dict[str, Any]], claimant: str
) -> bool:
    """Store the steps so far (only while `claimant` still holds the run); returns True when a
    cancel was asked for."""
    return await ExecutionRepository(scope).save_steps(execution_id, steps, claimant)


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
) -> None:
    """End a running execution exactly once, and count it in the connector's stats. With
    `claimant`, only while that claimant still holds it (an attempt taken for dead and fenced
    off by its retry ends nothing)."""
    execution = await ExecutionRepository(scope).get_for_update(execution_id)
    if execution is None or ExecutionStatus(execution.status).finished:
        return
    if claimant is not None and execution.claimed_by != claimant:
        return
    finished_at = end_run(execution, status, error)
    execution.steps = steps
    execution.output = output
    connectors = ConnectorRepository(scope)
    if status != ExecutionStatus.cancelled:
        await connectors.record_run(
            execution.connector_id,
            succeeded=status == ExecutionStatus.succeeded,
            duration_ms=execution.duration_ms or 0.0,
            finished_at=finished_at,
        )
    if auth_failed:
        connector = await connectors.get_with_catalog(execution.connector_id, for_update=True)
        if connector is not None:
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
    status = ExecutionStatus(execution.status)
    if status.finished:
        raise Conflict(f"the execution has already {status.value}")
    execution.cancel_requested = True
    if status == ExecutionStatus.queued:
        end_run(execution, ExecutionStatus.cancelled, "cancelled before it started")
    ExecutionRepository(scope).touch(execution)
    return execution
