"""Notification routes: the list with its unread count, mark one or all read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from connectorhub.auth.dependencies import ViewerContext, WritableViewer
from connectorhub.kit.routing import hub_router
from connectorhub.notification import service
from connectorhub.notification.schemas import (
    MarkedRead,
    NotificationPage,
    NotificationRead,
    UnreadCount,
)

router = hub_router(tags=["notifications"])


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    context: ViewerContext,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    return await service.search(context.scope, unread=unread, page=page, page_size=page_size)


@router.get("/notifications/unread-count", response_model=UnreadCount)
async def unread_count(context: ViewerContext) -> UnreadCount:
    return UnreadCount(unread=await service.unread_count(context.scope))


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationRead,
    responses={404: {"description": "No such notification in this workspace"}},
)
async def mark_read(notification_id: uuid.UUID, context: WritableViewer) -> NotificationRead:
    return await service.mark_read(context.scope, notification_id)


@router.post("/notifications/read-all", response_model=MarkedRead)
async def mark_all_read(context: WritableViewer) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(context.scope))
