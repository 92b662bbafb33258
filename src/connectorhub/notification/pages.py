"""Notifications page and the bell in the header: the same service as /api/notifications."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import PageViewer
from connectorhub.notification import service
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, render

router = page_router()


async def _list(request: Request, page: PageViewer) -> Response:
    request.state.page = page
    found = await service.search(page.scope, page_size=100)
    context = {"section": "notifications", "notifications": found.items, "unread": found.unread}
    if hx_target(request) == "notification-list":
        return render(request, "notification/_list.html", context)
    return render(request, "notification/index.html", context)


@router.get("/notifications")
async def notifications_page(request: Request, page: PageViewer) -> Response:
    return await _list(request, page)


@router.get("/notifications/bell")
async def bell(request: Request, page: PageViewer) -> Response:
    request.state.page = page
    unread = await service.unread_count(page.scope)
    return render(request, "notification/_bell.html", {"unread": unread})


@router.post("/notifications/{notification_id}/read")
async def mark_read(request: Request, page: PageViewer, notification_id: uuid.UUID) -> Response:
    await service.mark_read(page.scope, notification_id)
    response = await _list(request, page)
    response.headers["HX-Trigger"] = "notificationsChanged"
    return response


@router.post("/notifications/read-all")
async def mark_all_read(request: Request, page: PageViewer) -> Response:
    await service.mark_all_read(page.scope)
    response = await _list(request, page)
    response.headers["HX-Trigger"] = "notificationsChanged"
    return response
