"""Publishing routes: publish (now or scheduled), publications (list, read, cancel, retry), and
the connection test of every testable connector (sources run the tap's discovery, publishers
the provider's "who am I")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Query, Request, status
from fastapi.responses import JSONResponse, Response

from connectorhub.auth.dependencies import MemberContext, ViewerContext
from connectorhub.connector import service as connectors
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.kit.driver_errors import DriverError
from connectorhub.kit.routing import hub_router
from connectorhub.publish import service
from connectorhub.publish.models import PublicationStatus
from connectorhub.publish.schemas import (
    PublicationPage,
    PublicationRead,
    PublisherTest,
    PublishRequest,
)
from connectorhub.publish.tasks import check_account, publish_publication
from connectorhub.sync import service as sources
from connectorhub.sync.schemas import ConnectionTest
from connectorhub.sync.tasks import run_connection_test

router = hub_router(tags=["publishing"])
NOT_FOUND = {404: {"description": "No such connector or publication in this workspace"}}
WAIT_SECONDS = 30.0  # a repeat of a publication still being sent waits this long for its end


def _read(publication: Any) -> dict[str, Any]:
    return PublicationRead.model_validate(publication).model_dump(mode="json")


def _answer(publication: Any) -> Response:
    """201 published; 202 scheduled (or retrying later) or still sending; a failure answers
    400 (the target refused the content) or 409 (credentials refused, or no driver yet)."""
    shown = _read(publication)
    if publication.status == PublicationStatus.published.value:
        return JSONResponse(shown, status_code=status.HTTP_201_CREATED)
    if publication.status in (PublicationStatus.failed.value, PublicationStatus.unknown.value):
        code = 400 if publication.error_kind == "content" else 409
        detail = publication.error or f"the publication is {publication.status}"
        return JSONResponse(
            {"detail": detail, "errors": {"provider": [detail]}, "publication": shown},
            status_code=code,
        )
    return JSONResponse(shown, status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/connectors/{connector_id}/publish", status_code=status.HTTP_201_CREATED,
    response_model=PublicationRead,
    responses={
        **NOT_FOUND,
        200: {"description": "The earlier publication for this Idempotency-Key"},
        202: {"description": "Scheduled (`publish_at` in the future, or a retry later)"},
        400: {"description": 'Content the target cannot take: `{"errors": {"text": [...]}}`'},
        409: {"description": "Inactive connector, credentials refused, or no driver yet"},
    },
)  # fmt: skip
async def publish(
    connector_id: uuid.UUID,
    body: PublishRequest,
    context: MemberContext,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="Repeats return the same publication")
    ] = None,
) -> Response:
    """Post now (201 with the published post's id and URL) or at `publish_at` (202)."""
    publication, created = await service.start(
        context.scope, connector_id, body, idempotency_key=idempotency_key
    )
    hub, tenant_id, publication_id = request.app.state.hub, context.scope.tenant_id, publication.id
    if not created or publication.status != PublicationStatus.scheduled.value:

        async def repeat() -> Response:  # the first request may still be sending it
            found = await service.wait_for_outcome(
                hub.work, tenant_id, publication_id, seconds=WAIT_SECONDS
            )
            response = _answer(found)
            return response if response.status_code >= 400 else JSONResponse(_read(found))

        return AfterCommitResponse(repeat)
    if service.is_scheduled(publication, publication.created_at):
        return JSONResponse(_read(publication), status_code=status.HTTP_202_ACCEPTED)

    async def publish_now() -> Response:
        await publish_publication(hub.context, tenant_id, str(publication_id))
        return _answer(await service.read_now(hub.work, tenant_id, publication_id))

    return AfterCommitResponse(publish_now)


@router.get("/publications", response_model=PublicationPage)
async def list_publications(
    context: ViewerContext,
    connector_id: uuid.UUID | None = None,
    status_: Annotated[PublicationStatus | None, Query(alias="status")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after")] = None,
    until: Annotated[datetime | None, Query(description="Created before")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PublicationPage:
    """Newest first."""
    found = await service.search(
        context.scope, connector_id=connector_id, status=status_.value if status_ else None,
        since=since, until=until, page=page, page_size=page_size,
    )  # fmt: skip
    return PublicationPage(
        items=[PublicationRead.model_validate(p) for p in found.items],
        total=found.total, page=page, page_size=page_size,
    )  # fmt: skip


@router.get("/publications/{publication_id}", response_model=PublicationRead, responses=NOT_FOUND)
async def get_publication(publication_id: uuid.UUID, context: ViewerContext) -> PublicationRead:
    return PublicationRead.model_validate(await service.read(context.scope, publication_id))


@router.post(
    "/publications/{publication_id}/cancel", response_model=PublicationRead,
    responses={**NOT_FOUND, 409: {"description": "Not scheduled"}},
)  # fmt: skip
async def cancel_publication(publication_id: uuid.UUID, context: MemberContext) -> PublicationRead:
    return PublicationRead.model_validate(await service.cancel(context.scope, publication_id))


@router.post(
    "/publications/{publication_id}/retry", response_model=PublicationRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: {"description": "Not failed, or the connector is not active"}},
)  # fmt: skip
async def retry_publication(publication_id: uuid.UUID, context: MemberContext) -> PublicationRead:
    """A failed publication goes out again now, in the background."""
    return PublicationRead.model_validate(await service.retry(context.scope, publication_id))


@router.post(
    "/connectors/{connector_id}/test", response_model=ConnectionTest | PublisherTest,
    responses={**NOT_FOUND, 400: {"description": "Neither a source nor a publisher"},
               409: {"description": "Credentials unreadable: re-enter them"}},
)  # fmt: skip
async def test(connector_id: uuid.UUID, context: MemberContext, request: Request) -> Response:
    """Sources: the tap's discovery with the connector's config (bounded time), `ok` with the
    streams found or the tap's own error (stderr tail, secrets masked). Publishers: the
    provider's "who am I", `ok` with the account or the provider's words. Refused credentials
    set the connector to `error` and notify the workspace."""
    connector = await connectors.read(context.scope, connector_id)
    hub, tenant_id = request.app.state.hub, context.scope.tenant_id
    if connector.kind == "publisher":
        await service.test_target(context.scope, context.box, connector_id)  # 404/400 first

        async def check_and_answer() -> Response:
            try:
                account = await check_account(hub.context, tenant_id, connector_id)
                result = PublisherTest(ok=True, account=account.to_json())
            except DriverError as error:
                result = PublisherTest(ok=False, error=error.message)
            return Response(result.model_dump_json(), media_type="application/json")

        return AfterCommitResponse(check_and_answer)
    await sources.source(context.scope, context.box, connector_id)  # 404/400 before running

    async def test_and_answer() -> Response:
        result = await run_connection_test(hub.context, tenant_id, connector_id)
        return Response(result.model_dump_json(), media_type="application/json")

    return AfterCommitResponse(test_and_answer)
