"""Settings → Webhooks: the same webhook service as /api/webhooks. Workspace admins only."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin
from connectorhub.exceptions import ValidationFailed
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, render_settings, toast_header
from connectorhub.webhook import service
from connectorhub.webhook.models import Event
from connectorhub.webhook.schemas import WebhookCreate, WebhookPatch

router = page_router()
EVENTS = [e.value for e in Event]


async def _page(request: Request, page: PageAdmin, **extra: Any) -> Response:
    request.state.page = page
    context = {
        "section": "webhooks", "webhooks": (await service.listing(page.scope)).items,
        "events": EVENTS, "form": {"events": []}, "errors": {}, "created": None, **extra,
    }  # fmt: skip
    return render_settings(request, "webhooks", context)


@router.get("/settings/webhooks")
async def webhooks_page(request: Request, page: PageAdmin) -> Response:
    return await _page(request, page)


@router.post("/settings/webhooks")
async def create(request: Request, page: PageAdmin) -> Response:
    form = await request.form()
    shown = {
        "url": str(form.get("url", "")).strip(),
        "description": str(form.get("description", "")),
        "events": [str(e) for e in form.getlist("events")],
    }
    try:
        body = WebhookCreate(url=shown["url"], description=shown["description"],
                             events=shown["events"])  # type: ignore[arg-type]  # fmt: skip
        async with page.scope.session.begin_nested():
            created = await service.create(page.scope, page.box, body)
    except ValidationFailed as exc:
        return await _page(request, page, form=shown, errors=exc.errors)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = str(error["loc"][0])
            message = "Pick at least one event." if field == "events" else error["msg"]
            errors.setdefault(field, []).append(message)
        return await _page(request, page, form=shown, errors=errors)
    return await _page(request, page, created=created, toast="Webhook saved.")


@router.post("/settings/webhooks/{webhook_id}/test")
async def send_test(request: Request, page: PageAdmin, webhook_id: uuid.UUID) -> Response:
    await service.send_test(page.scope, webhook_id)
    return await _deliveries(request, page, webhook_id, toast="Test event queued.")


@router.post("/settings/webhooks/{webhook_id}/active")
async def toggle(request: Request, page: PageAdmin, webhook_id: uuid.UUID) -> Response:
    from_form = (await request.form()).get("active") == "1"
    await service.update(page.scope, webhook_id, WebhookPatch(active=from_form))
    return await _page(request, page, toast="Webhook resumed." if from_form else "Webhook paused.")


@router.post("/settings/webhooks/{webhook_id}/delete")
async def delete(request: Request, page: PageAdmin, webhook_id: uuid.UUID) -> Response:
    await service.delete(page.scope, webhook_id)
    return await _page(request, page, toast="Webhook deleted.")


async def _deliveries(
    request: Request, page: PageAdmin, webhook_id: uuid.UUID, toast: str | None = None
) -> Response:
    request.state.page = page
    found = await service.deliveries(page.scope, webhook_id, page_size=20)
    context = {"webhook_id": webhook_id, "deliveries": found.items, "total": found.total}
    headers = toast_header(toast) if toast else None
    return render(request, "settings/_webhook_deliveries.html", context, headers=headers)


@router.get("/settings/webhooks/{webhook_id}/deliveries")
async def deliveries(request: Request, page: PageAdmin, webhook_id: uuid.UUID) -> Response:
    return await _deliveries(request, page, webhook_id)


@router.post("/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, page: PageAdmin, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> Response:
    await service.redeliver(page.scope, webhook_id, delivery_id)
    return await _deliveries(request, page, webhook_id, toast="Redelivery queued.")
