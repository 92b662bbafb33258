"""Execution routes: run a connector, list and read executions, cancel, stream progress."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Header, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from connectorhub.auth.dependencies import MemberContext, ViewerContext
from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus, Trigger
from connectorhub.execution.schemas import ExecuteRequest, ExecutionPage, ExecutionRead
from connectorhub.execution.tasks import run_claimed
from connectorhub.hub import Hub
from connectorhub.kit.routing import hub_router
from connectorhub.kit.sse import SSE_CONTENT, event_stream

router = hub_router(tags=["executions"])
NOT_FOUND = {404: {"description": "No such connector or execution in this workspace"}}


def _json(execution: Any) -> dict[str, Any]:
    return ExecutionRead.model_validate(execution).model_dump(mode="json")


def _json_body(execution: Any) -> bytes:
    # Pydantic writes the JSON itself: no dict of JSON-ready values built first.
    return ExecutionRead.model_validate(execution).model_dump_json().encode()


class ExecutionResultResponse(Response):
    """`?wait=true`: sent only after the request's transaction has committed, it runs the
    execution here (embedded default) or waits for a worker's run, up to `timeout` seconds,
    then answers 200 with the finished execution, or 202 with its state if it is still going."""

    media_type = "application/json"

    def __init__(
        self, hub: Hub, tenant_id: str, execution_id: uuid.UUID, *,
        claimed: service.Claimed | None, timeout: float, seen: Any = None,
    ):  # fmt: skip
        super().__init__(status_code=status.HTTP_202_ACCEPTED)
        self.hub, self.tenant_id, self.execution_id = hub, tenant_id, execution_id
        self.claimed, self.timeout = claimed, timeout
        # On PostgreSQL a worker runs it: watch for its end from before the commit that queues
        # it (this answer goes out after that commit), so the end cannot slip by unseen and the
        # execution is not read again until there is news of it.
        signals = hub.run_signals if claimed is None else None
        self.ended = signals.watcher(service.TABLE, execution_id) if signals else None
        self.seen = seen if self.ended is not None else None

    async def __call__(self, scope, receive, send) -> None:
        started = asyncio.get_running_loop().time()
        execution = None
        if self.claimed is not None:  # claimed in the request's transaction: run it here
            job = run_claimed(self.hub.context, self.tenant_id, self.execution_id, self.claimed)
            task = self.hub.run_soon(job)
            await asyncio.wait({task}, timeout=self.timeout)
            # The run's own finish is the execution as it ended: no read to learn it.
            if task.done() and not task.cancelled() and task.exception() is None:
                execution = task.result()
        if execution is None:
            left = self.timeout - (asyncio.get_running_loop().time() - started)
            execution = await service.wait_until_finished(
                self.hub.work,
                self.tenant_id,
                self.execution_id,
                seconds=left,
                signals=self.hub.run_signals,
                ended=self.ended,
                seen=self.seen,
            )
        finished = ExecutionStatus(execution.status).finished
        self.status_code = status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED
        self.body = _json_body(execution)
        self.init_headers()
        await super().__call__(scope, receive, send)


@router.post(
    "/connectors/{connector_id}/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionRead,
    responses={
        **NOT_FOUND,
        200: {"description": "Finished (`?wait=true`), or the earlier run for this key"},
        400: {"description": 'Input invalid: `{"errors": {"input.field": [messages]}}`'},
        409: {"description": "The connector is not active"},
    },
)
async def execute(
    connector_id: uuid.UUID,
    context: MemberContext,
    request: Request,
    body: Annotated[ExecuteRequest | None, Body()] = None,
    wait: Annotated[bool, Query(description="Run now and answer with the result")] = False,
    wait_seconds: Annotated[
        float, Query(alias="timeout", gt=0, le=120, description="Seconds `wait` waits")
    ] = 30,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="Repeats return the same execution")
    ] = None,
    x_connectorhub_trigger: Annotated[
        Literal["api", "flow"] | None,
        Header(description="`flow`: a flow builder starts it (recorded as its trigger)"),
    ] = None,
) -> Response:
    """Run a connector's definition with `input`: 202 and the queued execution, or with
    `?wait=true` the finished one (202 if it outlasts `timeout`). A flow builder says so with
    `X-ConnectorHub-Trigger: flow` or `"trigger": "flow"`: the execution records trigger `flow`."""
    hub: Hub = request.app.state.hub
    body = body or ExecuteRequest()
    trigger = Trigger(body.trigger or x_connectorhub_trigger or Trigger.api.value)
    # The embedded default runs a waited-for execution right here; on PostgreSQL it goes to the
    # workers like any other, so a `serve` process that dies meanwhile loses nothing.
    if wait and hub.settings.is_sqlite:
        # Created and claimed in this request's transaction, run once it has committed.
        execution, claimed = await service.start_claimed(
            context.scope, context.box, connector_id, body.input,
            trigger=trigger, idempotency_key=idempotency_key, claimant=hub.claimant,
        )  # fmt: skip
        return ExecutionResultResponse(
            hub, context.scope.tenant_id, execution.id, claimed=claimed, timeout=wait_seconds
        )
    execution, created = await service.start(
        context.scope, context.box, connector_id, body.input,
        trigger=trigger, idempotency_key=idempotency_key,
    )  # fmt: skip
    if wait:
        return ExecutionResultResponse(
            hub, context.scope.tenant_id, execution.id, claimed=None, timeout=wait_seconds,
            seen=execution,
        )  # fmt: skip
    return Response(
        _json_body(execution), status_code=202 if created else 200, media_type="application/json"
    )


@router.get("/executions", response_model=ExecutionPage)
async def list_executions(
    context: ViewerContext,
    connector_id: uuid.UUID | None = None,
    status_: Annotated[ExecutionStatus | None, Query(alias="status")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after")] = None,
    until: Annotated[datetime | None, Query(description="Created before")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ExecutionPage:
    found = await service.search(
        context.scope, connector_id=connector_id, status=status_.value if status_ else None,
        since=since, until=until, page=page, page_size=page_size,
    )  # fmt: skip
    return ExecutionPage(
        items=[ExecutionRead.model_validate(e) for e in found.items],
        total=found.total, page=page, page_size=page_size,
    )  # fmt: skip


@router.get("/executions/{execution_id}", response_model=ExecutionRead, responses=NOT_FOUND)
async def get_execution(execution_id: uuid.UUID, context: ViewerContext) -> ExecutionRead:
    return ExecutionRead.model_validate(await service.read(context.scope, execution_id))


@router.post(
    "/executions/{execution_id}/cancel",
    response_model=ExecutionRead,
    responses={**NOT_FOUND, 409: {"description": "Already finished"}},
)
async def cancel_execution(execution_id: uuid.UUID, context: MemberContext) -> ExecutionRead:
    """A queued execution is cancelled at once; a running one stops before its next step."""
    return ExecutionRead.model_validate(await service.cancel(context.scope, execution_id))


@router.get(
    "/executions/{execution_id}/events",
    responses={**NOT_FOUND, 200: {"content": SSE_CONTENT,
                                  "description": "`step`, `status` and a final `end` event"}},
)  # fmt: skip
async def execution_events(
    execution_id: uuid.UUID, context: ViewerContext, request: Request
) -> StreamingResponse:
    """Server-Sent Events: each step as it starts and ends, status changes, then `end`."""
    await service.read(context.scope, execution_id)  # 404 before the stream starts
    return event_stream(
        service.follow(
            request.app.state.hub.work, context.scope.tenant_id, execution_id, _json,
            stop=request.is_disconnected,
        )
    )  # fmt: skip
