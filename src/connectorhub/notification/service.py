"""Notification rules: raise (folding repeats of an unread one), list, count, mark read."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from connectorhub.exceptions import NotFound
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.notification.models import Level, Notification
from connectorhub.notification.repository import NotificationRepository
from connectorhub.notification.schemas import NotificationPage, NotificationRead


def to_read(notification: Notification) -> NotificationRead:
    return NotificationRead.model_validate(
        {
            **{k: getattr(notification, k) for k in NotificationRead.model_fields if k != "read"},
            "read": notification.read_at is not None,
        }
    )


async def raise_(
    scope: WorkspaceScope,
    *,
    kind: str,
    title: str,
    body: str = "",
    level: Level = Level.info,
    link: str | None = None,
    subject_id: str | uuid.UUID | None = None,
) -> Notification:
    """Tell the workspace. A repeat while the last one about the same thing is unread updates
    that one (and counts it) instead of piling up."""
    repository = NotificationRepository(scope)
    subject = str(subject_id) if subject_id is not None else None
    existing = await repository.unread_about(kind, subject)
    if existing is None:
        notification = Notification(
            id=uuid.uuid4(), kind=kind, subject_id=subject, title=title[:200], body=body,
            level=level.value, link=link, occurrences=1,
        )  # fmt: skip
        try:
            async with scope.session.begin_nested():
                repository.add(notification)
                await scope.session.flush()
            return notification
        except IntegrityError:  # raised at the same moment elsewhere: fold into that one
            existing = await repository.unread_about(kind, subject)
            assert existing is not None
    existing.title, existing.body, existing.level = title[:200], body, level.value
    existing.link = link
    existing.occurrences += 1
    existing.updated_at = utcnow()
    repository.touch(existing)
    return existing


async def search(
    scope: WorkspaceScope, *, unread: bool = False, page: int = 1, page_size: int = 50
) -> NotificationPage:
    repository = NotificationRepository(scope)
    found = await repository.search(unread=unread, page=page, page_size=page_size)
    return NotificationPage(
        items=[to_read(n) for n in found.items], total=found.total,
        unread=await repository.unread_count(), page=page, page_size=page_size,
    )  # fmt: skip


async def unread_count(scope: WorkspaceScope) -> int:
    return await NotificationRepository(scope).unread_count()


async def mark_read(scope: WorkspaceScope, notification_id: uuid.UUID) -> NotificationRead:
    """Raises NotFound (also for another workspace's notification)."""
    repository = NotificationRepository(scope)
    notification = await repository.get(notification_id)
    if notification is None:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        repository.touch(notification)
        await scope.session.flush()
    return to_read(notification)


async def mark_all_read(scope: WorkspaceScope) -> int:
    return await NotificationRepository(scope).mark_all_read(utcnow())
