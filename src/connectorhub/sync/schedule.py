"""Cron schedules for source and HTTP connectors: when the next run is due, and starting the
due ones (a sync for a source, an execution with trigger `schedule` for an HTTP connector).

A connector keeps its cron expression, the time zone it is read in, and `next_sync_at`. Workers
look for due connectors every minute (a Procrastinate periodic task on PostgreSQL, a loop in
`serve` in the embedded default); each due one gets a sync and its next time. A service that was
down for hours runs one sync when it is back, not one per missed occurrence.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from connectorhub.audit import service as audit
from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.execution import service as executions
from connectorhub.execution.models import Trigger
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.sync import service
from connectorhub.sync.schemas import ScheduleRead, ScheduleUpdate

log = logging.getLogger(__name__)
MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def problems(cron: str, timezone: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    fields = cron.split()
    if not (cron in MACROS or (len(fields) == 5 and croniter.is_valid(cron))):
        errors["cron"] = [
            "Use five fields (minute hour day-of-month month day-of-week, e.g. `0 * * * *`) "
            f"or one of {', '.join(sorted(MACROS))}."
        ]
    if _zone(timezone) is None:
        errors["timezone"] = [f"Unknown time zone {timezone!r}: use an IANA name like UTC."]
    elif "cron" not in errors:
        try:  # valid, yet never due (`0 0 31 2 *`: 31 February)
            next_after(cron, timezone, datetime.now(UTC))
        except CroniterError:
            errors["cron"] = ["This schedule never comes round (no such date)."]
    return errors


def next_after(cron: str, timezone: str, moment: datetime) -> datetime:
    """The first time after `moment` the schedule fires, in UTC (wall-clock rules in `timezone`,
    so `0 9 * * *` in Europe/Paris stays 09:00 there across daylight-saving changes)."""
    local = moment.astimezone(_zone(timezone) or UTC)
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def read(connector: Connector) -> ScheduleRead:
    return ScheduleRead(
        cron=connector.schedule, timezone=connector.schedule_timezone,
        next_sync_at=connector.next_sync_at,
    )  # fmt: skip


async def set_schedule(
    scope: WorkspaceScope, connector_id: uuid.UUID, body: ScheduleUpdate, *, now: datetime
) -> ScheduleRead:
    """Raises NotFound, BadRequest (not a source), ValidationFailed (cron or time zone)."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id, for_update=True)
    if connector is None:
        raise NotFound("connector not found")
    if connector.catalog.kind not in ("source", "http"):
        raise BadRequest(
            "only source connectors (Singer taps) and HTTP connectors run on a schedule"
        )
    cron = (body.cron or "").strip() or None
    before = (connector.schedule, connector.schedule_timezone)
    if cron is None:
        connector.schedule = connector.schedule_timezone = connector.next_sync_at = None
    else:
        errors = problems(cron, body.timezone)
        if errors:
            raise ValidationFailed(errors)
        connector.schedule, connector.schedule_timezone = cron, body.timezone
        connector.next_sync_at = next_after(cron, body.timezone, now)
    changed = [
        field
        for field, old in zip(("schedule", "schedule_timezone"), before, strict=True)
        if getattr(connector, field) != old
    ]
    if changed:
        audit.record(
            scope, "connector.updated", "connector", connector.id,
            object_name=connector.name, fields=changed,
        )  # fmt: skip
    ConnectorRepository(scope).touch(connector)
    return read(connector)


async def _start_execution(scope: WorkspaceScope, box: SecretBox, connector: Connector) -> bool:
    """A scheduled run of an HTTP connector, with its input schema's defaults as input. One the
    input schema refuses (a required field without a default) is skipped and told."""
    try:
        await executions.start(
            scope, box, connector.id, {}, trigger=Trigger.schedule, idempotency_key=None
        )
        return True
    except (ValidationFailed, BadRequest, Conflict) as refused:
        why = refused.message
        if isinstance(refused, ValidationFailed):
            why = "; ".join(f"{k}: {' '.join(v)}" for k, v in refused.errors.items())
        await notifications.raise_(
            scope, kind="connector.schedule_skipped", subject_id=connector.id,
            level=Level.warning, title=f"{connector.name}: scheduled run skipped",
            body=f"{why}. A scheduled run has no input but its input schema's defaults: give "
            "the required fields defaults.",
            link=f"/connectors/installed?search={quote(connector.name)}",
        )  # fmt: skip
        return False


async def start_due(scope: WorkspaceScope, now: datetime, box: SecretBox | None = None) -> int:
    """Start a sync for each active source connector whose schedule is due, and (given `box`)
    an execution for each due HTTP connector; move each to its next time. A connector still
    syncing skips this turn. Returns how many started."""
    started = 0
    repository = ConnectorRepository(scope)
    for due in await repository.due_for_sync(now):
        connector = await repository.get_with_catalog(due.id)
        assert connector is not None and connector.schedule is not None
        http = connector.catalog.kind == "http"
        if http and box is None:
            continue  # started by a caller that can seal its input
        connector.next_sync_at = next_after(
            connector.schedule, connector.schedule_timezone or "UTC", now
        )
        if http:
            assert box is not None
            started += await _start_execution(scope, box, connector)
            continue
        try:
            await service.start(scope, connector.id, trigger="schedule")
            started += 1
        except Conflict as refused:
            log.info("scheduled sync of %s skipped: %s", connector.name, refused.message)
            if connector.selected_streams:
                continue  # still syncing from the last turn: the next one will do
            await notifications.raise_(
                scope, kind="source.schedule_skipped", subject_id=connector.id,
                level=Level.warning, title=f"{connector.name}: scheduled sync skipped",
                body=f"{refused.message}.",
                link=f"/connectors/installed?search={quote(connector.name)}",
            )  # fmt: skip
    return started
