from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, status
from fastapi.responses import Response

from connectorhub.auth.dependencies import AdminContext, ViewerContext
from connectorhub.connector import bulk, draft_test, service
from connectorhub.connector.models import ConnectorStatus
from connectorhub.connector.schemas import (
    BulkRequest,
    BulkResults,
    ConnectorCreate,
    ConnectorPage,
    ConnectorPatch,
    ConnectorRead,
    DraftTest,
    PublishTarget,
)
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.kit.routing import hub_router
from connectorhub.publish.schemas import PublisherTest
from connectorhub.sync.schemas import ConnectionTest

router = hub_router(tags=["connectors"])

ERRORS = {
    400: {"description": 'Invalid config or auth: `{"errors": {"config.path": [messages]}}`'},
    404: {"description": "No such connector in this workspace"},
}


# `/connectors` is where the writes live, so a client looks for the list there too.
@router.get("/installed", response_model=ConnectorPage)
@router.get("/connectors", response_model=ConnectorPage)
async def list_installed(
    context: ViewerContext,
    status_: Annotated[ConnectorStatus | None, Query(alias="status")] = None,
    catalog_key: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConnectorPage:
    found = await service.search(
        context.scope,
        status=status_.value if status_ else None,
        catalog_key=catalog_key,
        tag=tag,
        search=search,
        page=page,
        page_size=page_size,
        box=context.box,
    )
    return ConnectorPage(items=list(found.items), total=found.total, page=page, page_size=page_size)


@router.get("/installed/{connector_id}", response_model=ConnectorRead, responses=ERRORS)
async def get_installed(connector_id: uuid.UUID, context: ViewerContext) -> ConnectorRead:
    return await service.read(context.scope, connector_id, context.box)


@router.post(
    "/connectors", response_model=ConnectorRead, status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, 409: {"description": "Name already used in this workspace"}},
)  # fmt: skip
async def create_connector(body: ConnectorCreate, context: AdminContext) -> ConnectorRead:
    return await service.install(context.scope, context.box, body)


@router.post(
    "/connectors/test", response_model=ConnectionTest | PublisherTest,
    responses={400: {"description": 'Invalid config or auth (`{"errors": {...}}`), or an '
                     "entry with nothing to test before saving (HTTP, OAuth not connected)"}},
)  # fmt: skip
async def test_draft(body: DraftTest, context: AdminContext, request: Request) -> Response:
    """Test a connector before saving it: sources run the tap's discovery, publishers the
    provider's "who am I", with the config and auth given. Nothing is stored; the answer is
    the saved connector's Test's (`ok`, streams or account, or the error, secrets masked)."""
    draft = await draft_test.prepare(context.scope, body)
    hub, tenant_id = request.app.state.hub, context.scope.tenant_id

    async def test_and_answer() -> Response:  # once the request's transaction has ended
        result = await draft_test.run(hub.context, tenant_id, draft)
        return Response(result.model_dump_json(), media_type="application/json")

    return AfterCommitResponse(test_and_answer)


@router.put("/connectors/{connector_id}", response_model=ConnectorRead, responses=ERRORS)
async def update_connector(
    connector_id: uuid.UUID, body: ConnectorPatch, context: AdminContext
) -> ConnectorRead:
    """Changes only the fields sent, as PATCH does: `{"status": "active"}` activates."""
    return await service.edit(context.scope, context.box, connector_id, body)


@router.patch("/connectors/{connector_id}", response_model=ConnectorRead, responses=ERRORS)
async def patch_connector(
    connector_id: uuid.UUID, body: ConnectorPatch, context: AdminContext
) -> ConnectorRead:
    return await service.edit(context.scope, context.box, connector_id, body)


@router.delete(
    "/connectors/{connector_id}", status_code=status.HTTP_204_NO_CONTENT,
    responses={**ERRORS, 409: {"description": "A target in use as a destination"}},
)  # fmt: skip
async def delete_connector(connector_id: uuid.UUID, context: AdminContext) -> None:
    """Hard delete. A Singer target that is the workspace's destination, or a source's own,
    is refused (409, naming what uses it) until they pick another."""
    await service.delete(context.scope, connector_id)


@router.post(
    "/connectors/bulk", response_model=BulkResults,
    responses={400: {"description": "A tag action without a tag"}},
)  # fmt: skip
async def bulk_action(body: BulkRequest, context: AdminContext) -> BulkResults:
    """Activate, deactivate, tag, untag or delete up to 100 connectors. Each id gets its own
    result (`ok`, or `error` and the error map the single-connector endpoint would give); a
    failed one changes nothing and never undoes the others. An unknown id, or another
    workspace's, is `"error": "not found"`."""
    return await bulk.apply(context.scope, context.box, body)


@router.get("/publish-targets", response_model=list[PublishTarget])
async def publish_targets(context: ViewerContext) -> list[PublishTarget]:
    return await service.publish_targets(context.scope)
