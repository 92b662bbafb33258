"""Singer source routes: pick streams, sync, schedules, sync runs (the connection test is
publish/endpoints.py's, for sources and publishers alike)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request, status
from fastapi.responses import StreamingResponse

from connectorhub.auth.dependencies import AdminContext, MemberContext, ViewerContext
from connectorhub.kit.models import utcnow
from connectorhub.kit.routing import hub_router
from connectorhub.kit.sse import SSE_CONTENT, event_stream
from connectorhub.sync import destinations, schedule, service
from connectorhub.sync.models import SyncStatus
from connectorhub.sync.schemas import (
    DestinationPick,
    DestinationRead,
    ScheduleRead,
    ScheduleUpdate,
    StreamInfo,
    StreamSelection,
    SyncRunPage,
    SyncRunRead,
    WorkspaceDestinationPick,
)

router = hub_router(tags=["sources"])
NOT_FOUND = {404: {"description": "No such connector or sync run in this workspace"}}


@router.put(
    "/connectors/{connector_id}/streams", response_model=list[StreamInfo], responses=NOT_FOUND
)
async def pick_streams(
    connector_id: uuid.UUID, body: StreamSelection, context: AdminContext
) -> list[StreamInfo]:
    """Which discovered streams to sync, and how (full table, or incremental on a key)."""
    return await service.select_streams(context.scope, connector_id, body)


@router.post(
    "/connectors/{connector_id}/sync", response_model=SyncRunRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: {"description": "Already syncing, or no streams picked"}},
)  # fmt: skip
async def sync(connector_id: uuid.UUID, context: MemberContext) -> SyncRunRead:
    return SyncRunRead.model_validate(await service.start(context.scope, connector_id))


@router.put(
    "/connectors/{connector_id}/schedule", response_model=ScheduleRead,
    responses={**NOT_FOUND, 400: {"description": "Bad cron or time zone, or not a source"}},
)  # fmt: skip
async def set_schedule(
    connector_id: uuid.UUID, body: ScheduleUpdate, context: AdminContext
) -> ScheduleRead:
    """Sync on a cron schedule (read in `timezone`) while the connector is active; `cron: null`
    removes it. The background workers start due syncs within a minute."""
    return await schedule.set_schedule(context.scope, connector_id, body, now=utcnow())


@router.get("/destination", response_model=DestinationRead, tags=["destinations"])
async def workspace_destination(context: ViewerContext) -> DestinationRead:
    """Where the workspace's sources load unless they pick their own destination."""
    return DestinationRead.model_validate(
        await destinations.workspace_choice(context.scope), from_attributes=True
    )


@router.put(
    "/destination", response_model=DestinationRead, tags=["destinations"],
    responses={404: {"description": "No such connector"}, 400: {"description": "Not a target"}},
)  # fmt: skip
async def pick_workspace_destination(
    body: WorkspaceDestinationPick, context: AdminContext
) -> DestinationRead:
    """The built-in warehouse (`destination: warehouse`, or `destination_id: null`) or an
    installed Singer target."""
    await destinations.set_workspace_default(context.scope, body.destination_id)
    return DestinationRead.model_validate(
        await destinations.workspace_choice(context.scope), from_attributes=True
    )


@router.get(
    "/connectors/{connector_id}/destination", response_model=DestinationRead,
    responses=NOT_FOUND, tags=["destinations"],
)  # fmt: skip
async def source_destination(connector_id: uuid.UUID, context: ViewerContext) -> DestinationRead:
    return DestinationRead.model_validate(
        await destinations.source_choice(context.scope, connector_id), from_attributes=True
    )


@router.put(
    "/connectors/{connector_id}/destination", response_model=DestinationRead, tags=["destinations"],
    responses={**NOT_FOUND, 400: {"description": "Not a source, or the pick is not a target"}},
)  # fmt: skip
async def pick_source_destination(
    connector_id: uuid.UUID, body: DestinationPick, context: AdminContext
) -> DestinationRead:
    """This source's own destination: a Singer target, the built-in warehouse (`destination:
    warehouse`, whatever the workspace's), or the workspace's (`destination_id: null`)."""
    return DestinationRead.model_validate(
        await destinations.set_source_destination(
            context.scope, connector_id, body.destination_id, warehouse=body.warehouse
        ),
        from_attributes=True,
    )


@router.get("/sync-runs", response_model=SyncRunPage)
async def list_runs(
    context: ViewerContext,
    connector_id: uuid.UUID | None = None,
    status_: Annotated[SyncStatus | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SyncRunPage:
    found = await service.search(
        context.scope, connector_id=connector_id, status=status_.value if status_ else None,
        page=page, page_size=page_size,
    )  # fmt: skip
    return SyncRunPage(
        items=[SyncRunRead.model_validate(r) for r in found.items],
        total=found.total, page=page, page_size=page_size,
    )  # fmt: skip


@router.get("/sync-runs/{run_id}", response_model=SyncRunRead, responses=NOT_FOUND)
async def get_run(run_id: uuid.UUID, context: ViewerContext) -> SyncRunRead:
    return SyncRunRead.model_validate(await service.read(context.scope, run_id))


@router.post("/sync-runs/{run_id}/cancel", response_model=SyncRunRead, responses=NOT_FOUND)
async def cancel_run(run_id: uuid.UUID, context: MemberContext) -> SyncRunRead:
    return SyncRunRead.model_validate(await service.cancel(context.scope, run_id))


@router.get(
    "/sync-runs/{run_id}/events",
    responses={**NOT_FOUND, 200: {"content": SSE_CONTENT,
                                  "description": "`rows`, `status` and a final `end` event"}},
)  # fmt: skip
async def sync_run_events(
    run_id: uuid.UUID, context: ViewerContext, request: Request
) -> StreamingResponse:
    """Server-Sent Events: rows loaded per stream as they grow, status changes, then `end`."""
    await service.read(context.scope, run_id)  # 404 before the stream starts
    return event_stream(
        service.follow(
            request.app.state.hub.work, context.scope.tenant_id, run_id, _json,
            stop=request.is_disconnected,
        )
    )  # fmt: skip


def _json(run: Any) -> dict[str, Any]:
    return SyncRunRead.model_validate(run).model_dump(mode="json")
