"""Publishing pages: the composer (with a live count the way the target counts and a sanitised
preview), a publisher's account test, and the publications page (retry, cancel, live status).

Rules live in publish/service.py; these routes turn forms into the request the API takes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import nh3
from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageMember, PageViewer
from connectorhub.connector import service as connectors
from connectorhub.connector.run_history import go_to_run
from connectorhub.exceptions import HubError, ValidationFailed
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.kit.driver_errors import DriverError
from connectorhub.publish import service
from connectorhub.publish.content import text_length
from connectorhub.publish.models import PublicationStatus
from connectorhub.publish.schemas import PublishRequest
from connectorhub.publish.tasks import check_account
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, render, toast_header

router = page_router()


async def _target(page: PageViewer, connector_id: uuid.UUID) -> tuple[Any, dict[str, Any]]:
    connector = await connectors.read(page.scope, connector_id)
    rules = await service.rules_of(page.scope, connector_id)
    return connector, rules


def _when(form: Any) -> datetime | None:
    """`datetime-local` is wall-clock time in the browser's zone; the page sends its offset."""
    if form.get("when") != "schedule" or not form.get("publish_at"):
        return None
    local = datetime.fromisoformat(str(form["publish_at"]))
    offset = int(str(form.get("tz_offset") or "0"))  # minutes, as JavaScript's getTimezoneOffset
    return (local + timedelta(minutes=offset)).replace(tzinfo=UTC)


def _words(form: Any, name: str) -> list[str]:
    return [w.strip() for w in str(form.get(name) or "").split(",") if w.strip()]


def _request_from(form: Any) -> dict[str, Any]:
    media = str(form.get("media_url") or "").strip()
    fields = {
        "text": str(form.get("text") or ""), "title": str(form.get("title") or "") or None,
        "html": str(form.get("html") or "") or None, "markdown": str(form.get("markdown") or "") or None,
        "tags": _words(form, "tags"), "categories": _words(form, "categories"),
        "media": [{"url": media, "alt": str(form.get("media_alt") or "") or None}] if media else [],
        "status": str(form.get("status") or "") or None,
    }  # fmt: skip
    return {k: v for k, v in fields.items() if v not in (None, [], "")} | {"text": fields["text"]}


async def _composer(request: Request, page: PageMember, connector_id: uuid.UUID, **extra: Any):
    connector, rules = await _target(page, connector_id)
    context = {"c": connector, "rules": rules, "values": {}, "errors": {}, **extra}
    return render(request, "publish/_composer.html", context)


@router.get("/connectors/{connector_id}/publish")
async def composer(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    return await _composer(request, page, connector_id)


@router.post("/connectors/{connector_id}/publish/preview")
async def preview(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    """The live counter (counted the way the target counts) and the HTML as it will look,
    sanitised for this page with nh3."""
    request.state.page = page
    _, rules = await _target(page, connector_id)
    form = await request.form()
    text = str(form.get("text") or "")
    html = str(form.get("html") or "")
    context = {
        "rules": rules, "length": text_length(text, rules["length_counting"]),
        "html": nh3.clean(html) if html else "",
    }  # fmt: skip
    return render(request, "publish/_preview.html", context)


@router.post("/connectors/{connector_id}/publish")
async def publish(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = PublishRequest.model_validate({**_request_from(form), "publish_at": _when(form)})
    except (ValidationError, ValueError) as exc:
        errors = (
            {".".join(map(str, e["loc"])) or "text": [e["msg"]] for e in exc.errors()}
            if isinstance(exc, ValidationError)
            else {"publish_at": [str(exc)]}
        )
        return await _composer(request, page, connector_id, values=values, errors=errors)
    try:
        async with page.scope.session.begin_nested():
            publication, _ = await service.start(
                page.scope, connector_id, body, idempotency_key=None, defer_now=True
            )
    except ValidationFailed as exc:
        return await _composer(request, page, connector_id, values=values, errors=exc.errors)
    except HubError as exc:  # inactive meanwhile, say: shown in the form
        return await _composer(request, page, connector_id, values=values, failure=exc.message)
    message = (
        "Scheduled."
        if publication.publish_at and service.is_scheduled(publication, datetime.now(UTC))
        else "Publishing…"
    )
    return go_to_run(request, f"/publications?connector_id={connector_id}", message)


@router.post("/connectors/{connector_id}/test-account")
async def test_account(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    """The provider's "who am I", after this request's transaction; the card shows the account
    (or the connector in error) and a toast says what happened."""
    request.state.page = page
    await service.test_target(page.scope, page.box, connector_id)  # 404/400 before calling
    hub, tenant_id = request.app.state.hub, page.scope.tenant_id
    rights = {"can_edit": page.principal.effective_role.at_least(Role.admin), "can_run": True}

    async def check_and_render() -> Response:
        try:
            account = await check_account(hub.context, tenant_id, connector_id)
            message, level = f"Signed in as {account.name}.", "success"
        except DriverError as error:
            message, level = error.message, "danger"
        except HubError as exc:  # deleted meanwhile, say
            return Response(status_code=204, headers=toast_header(exc.message, "danger"))
        connector = await connectors.read_now(hub.work, tenant_id, connector_id)
        return render(request, "connector/_installed_card.html", {"c": connector, **rights},
                      headers=toast_header(message, level))  # fmt: skip

    return AfterCommitResponse(check_and_render)


async def _publications(request: Request, page: PageViewer, connector_id: uuid.UUID | None,
                        status: str, **headers: Any) -> Response:  # fmt: skip
    found = await service.search(
        page.scope, connector_id=connector_id, status=status or None, page_size=100
    )
    names = {c.id: c.name for c in (await connectors.search(page.scope, page_size=200)).items}
    under_way = any(p.status in ("scheduled", "sending") for p in found.items)
    context = {
        "section": "publications", "publications": found.items, "total": found.total,
        "names": names, "connector_id": connector_id, "status": status,
        "statuses": [s.value for s in PublicationStatus], "under_way": under_way,
        "can_run": page.principal.effective_role.at_least(Role.member),
    }  # fmt: skip
    if hx_target(request) == "publication-list":
        return render(request, "publish/_list.html", context, headers=headers or None)
    return render(request, "publish/publications.html", context, headers=headers or None)


@router.get("/publications")
async def publications(request: Request, page: PageViewer, connector_id: uuid.UUID | None = None,
                       status: PublicationStatus | None = None) -> Response:  # fmt: skip
    request.state.page = page
    return await _publications(request, page, connector_id, status.value if status else "")


async def _act(request: Request, page: PageMember, change: Any, done: str) -> Response:
    """Retry or cancel, then the list with the outcome as a toast."""
    request.state.page = page
    try:
        async with page.scope.session.begin_nested():
            await change()
        headers = toast_header(done)
    except HubError as exc:
        headers = toast_header(exc.message, "danger")
    connector = str((await request.form()).get("connector_id") or "")
    return await _publications(
        request, page, uuid.UUID(connector) if connector else None, "", **headers
    )


@router.post("/publications/{publication_id}/retry")
async def retry(request: Request, page: PageMember, publication_id: uuid.UUID) -> Response:
    return await _act(request, page, lambda: service.retry(page.scope, publication_id), "Retrying.")


@router.post("/publications/{publication_id}/cancel")
async def cancel(request: Request, page: PageMember, publication_id: uuid.UUID) -> Response:
    return await _act(
        request, page, lambda: service.cancel(page.scope, publication_id), "Cancelled."
    )
