"""The audit log page (admins): the same service and filters as GET /api/audit-events, with
who acted by email and what changed by field name, never a value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from connectorhub.audit import service
from connectorhub.audit.schemas import AuditFilters
from connectorhub.auth.dependencies import PageAdmin
from connectorhub.tenant import service as tenant_service
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, render

router = page_router()
PAGE_SIZE = 50


def _moment(day: date | str | None, offset_minutes: int, *, after: bool = False) -> datetime | None:
    """Midnight starting `day` (the next day's, `after`) in the browser's time zone, as UTC.
    `offset_minutes` is JavaScript's getTimezoneOffset (UTC minus local time)."""
    if not isinstance(day, date):
        return None
    start = datetime.combine(day + timedelta(days=after), datetime.min.time(), tzinfo=UTC)
    return start + timedelta(minutes=offset_minutes)


@router.get("/settings/audit")
async def audit_log(
    request: Request,
    page: PageAdmin,
    object: Annotated[str, Query(max_length=200)] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[date | Literal[""] | None, Query()] = None,  # "": the form's empty field
    until: Annotated[date | Literal[""] | None, Query()] = None,
    tz_offset: Annotated[int, Query(ge=-1440, le=1440)] = 0,
    p: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """`since` and `until` are days, both included, in the browser's time zone."""
    request.state.page = page
    filters = AuditFilters(
        object=object.strip() or None, actor=actor or None, action=action or None,
        since=_moment(since, tz_offset), until=_moment(until, tz_offset, after=True),
    )  # fmt: skip
    found = await service.list_events(page.scope, p, PAGE_SIZE, filters)
    members = await tenant_service.list_members(page.scope)
    context = {
        "section": "audit", "found": found, "has_next": p * PAGE_SIZE < found.total,
        "emails": {str(m.user_id): m.email for m in members}, "members": members,
        "actions": await service.actions(page.scope),
        "filters": {"object": object, "actor": actor, "action": action,
                    "since": since.isoformat() if isinstance(since, date) else "",
                    "until": until.isoformat() if isinstance(until, date) else "", "tz_offset": tz_offset},
    }  # fmt: skip
    if hx_target(request) == "audit-events":
        return render(request, "audit/_events.html", context)
    return render(request, "audit/log.html", context)
