"""Singer source rules: tap config, connection test results, stream selection, starting one sync
per connector, claiming and ending sync runs, failure notifications."""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError

from connectorhub.audit import service as audit
from connectorhub.catalog.custom_taps import effective_entry
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.unreadable import open_auth
from connectorhub.db import UnitOfWork
from connectorhub.exceptions import (
    BadRequest,
    Conflict,
    CredentialsUnreadable,
    NotFound,
    ValidationFailed,
)
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import Page, WorkspaceScope
from connectorhub.kit.sealing import merge_secrets, open_secrets
from connectorhub.meltano import selection
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.run import lifecycle
from connectorhub.run.models import end_run
from connectorhub.sync.models import SyncRun, SyncStatus
from connectorhub.sync.repository import SyncRunRepository
from connectorhub.sync.schemas import ConnectionTest, StreamInfo, StreamSelection
from connectorhub.webhook import events as webhooks
from connectorhub.worker.claimants import holder_is_gone
from connectorhub.worker.queue import Job

log = logging.getLogger(__name__)
FIXABLE = {"auth", "config"}  # the user can fix these: the connector goes to `error` at once
FAILURES_BEFORE_ERROR = 3  # other failures in a row before it does
# An OAuth grant found dead: the connector is in error and notified already (oauth/tokens.py).
RECONNECT = "reconnect"
# The token endpoint was down: the run failed, the connection did not (never counts toward error).
TOKEN_ENDPOINT = "token_endpoint"
# The sealed auth does not decrypt: the run failed at its claim, the connector is in error and
# notified (connector/unreadable.py); only re-entering the auth helps, so nothing retries it.
UNREADABLE = "unreadable"


@dataclass
class Source:
    connector: Connector | None  # None: a draft, tested before it is saved
    entry: CatalogEntry
    plugin: dict[str, Any]
    tap_config: dict[str, Any]
    secrets: list[str]


async def source(scope: WorkspaceScope, box: SecretBox, connector_id: uuid.UUID) -> Source:
    """A source connector with its tap config. Raises NotFound, BadRequest (not a source),
    CredentialsUnreadable (its sealed auth does not decrypt: the connector was put in error and
    the workspace told, in this transaction)."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id)
    if connector is None:
        raise NotFound("connector not found")
    entry = effective_entry(connector.catalog, connector.definition)
    if entry.kind != "source" or not entry.plugin:
        raise BadRequest("only source connectors (Singer taps) can be tested and synced")
    secrets = await open_auth(scope, box, connector)  # 409 when it does not decrypt
    return source_of(entry, connector.config, secrets, connector)


def source_of(
    entry: CatalogEntry, config: dict[str, Any], secrets: dict[str, Any],
    connector: Connector | None = None,
) -> Source:  # fmt: skip
    """The tap config of these settings and credentials: a stored connector's, or a draft's
    (`connector` None) for a test before it is saved."""
    rename = entry.plugin.get("settings_rename") or {}
    tap_config = {rename.get(k, k): v for k, v in {**config, **secrets}.items()}
    # Only secret fields are masked in the tap's output: masking a user name like `postgres`
    # would blank out every `tap-postgres` in its log.
    hidden = {f["name"] for f in entry.auth_fields if f.get("secret", True)}
    return Source(
        connector, entry, entry.plugin, tap_config, [v for k, v in secrets.items() if k in hidden]
    )


async def keep_rewritten_settings(
    scope: WorkspaceScope, box: SecretBox, connector_id: uuid.UUID,
    rewritten: dict[str, Any], given: dict[str, Any],
) -> list[str]:  # fmt: skip
    """Seal credentials a tap rotated and wrote back to its config file (a new refresh token,
    say) into the connector, so the next run uses them. Only where the stored value is still
    the one the tap was `given`: one set meanwhile (by an admin, or another run) is newer.
    Returns the auth fields updated."""
    if not rewritten:
        return []
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id, for_update=True)
    if connector is None:
        return []
    entry = effective_entry(connector.catalog, connector.definition)
    rename = (entry.plugin or {}).get("settings_rename") or {}
    original = {v: k for k, v in rename.items()}
    auth_fields = {f["name"] for f in entry.auth_fields}
    current = open_secrets(
        box, tenant_id=scope.tenant_id, table=Connector.__tablename__, row_id=connector.id,
        stored=connector.auth,
    )  # fmt: skip
    incoming = {}
    for key, value in rewritten.items():
        field = original.get(key, key)
        if field not in auth_fields or not isinstance(value, str) or not value:
            continue
        if current.get(field) != given.get(key):
            log.warning("%s/%s: %s changed while the tap ran; the newer value stays",
                        scope.tenant_id, connector.name, field)  # fmt: skip
            continue
        incoming[field] = value
    sealed, changed = merge_secrets(
        box, tenant_id=scope.tenant_id, table=Connector.__tablename__, row_id=connector.id,
        stored=connector.auth, incoming=incoming,
    )  # fmt: skip
    if changed:
        connector.auth = sealed
        ConnectorRepository(scope).touch(connector)
        log.info("%s/%s: kept %s rotated by the tap", scope.tenant_id, connector.name,
                 ", ".join(changed))  # fmt: skip
    return changed


def streams_of(catalog: dict[str, Any] | None, selected: list[Any] | None) -> list[StreamInfo]:
    chosen = {s["name"]: s for s in selected or []}
    infos = []
    for stream in (catalog or {}).get("streams", []):
        name = stream.get("tap_stream_id") or stream.get("stream")
        top = _top_metadata(stream)
        infos.append(
            StreamInfo(
                name=name,
                key_properties=list(
                    top.get("table-key-properties") or stream.get("key_properties") or []
                ),
                replication_keys=list(top.get("valid-replication-keys") or []),
                columns=list((stream.get("schema") or {}).get("properties") or {}),
                selected=name in chosen,
                replication_method=chosen.get(name, {}).get("replication_method"),
                replication_key=chosen.get(name, {}).get("replication_key"),
            )
        )
    return infos


def _top_metadata(stream: dict[str, Any]) -> dict[str, Any]:
    for entry in stream.get("metadata") or []:
        if entry.get("breadcrumb") == []:
            return entry.get("metadata") or {}
    return {}


async def record_test(
    scope: WorkspaceScope,
    connector_id: uuid.UUID,
    *,
    catalog: dict[str, Any] | None,
    error: str | None = None,
    error_kind: str | None = None,
    stderr_tail: str = "",
) -> ConnectionTest:
    """Store a connection test's outcome (and the streams it found)."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id, for_update=True)
    if connector is None:
        raise NotFound("connector not found")
    tested = ConnectionTest(
        ok=error is None, tested_at=utcnow(), error=error, error_kind=error_kind,
        stderr_tail=stderr_tail,
        streams=streams_of(catalog, connector.selected_streams) if catalog else [],
    )  # fmt: skip
    connector.last_test = tested.model_dump(mode="json", exclude={"streams"})
    if catalog is not None:
        connector.discovered_catalog = catalog
        _select_as_imported(connector, catalog)
    if error_kind in FIXABLE:
        await _mark_broken(scope, connector, error or "", error_kind or "", what="connection test")
    ConnectorRepository(scope).touch(connector)
    return tested


def _select_as_imported(connector: Connector, catalog: dict[str, Any]) -> None:
    """A connector imported from a meltano.yml whose `select` needed the discovered streams
    (a glob like `*.*`) picks them on its first discovery."""
    meltano = (connector.definition or {}).get("meltano") or {}
    if connector.selected_streams is not None or not meltano.get("select"):
        return
    names = [s.get("tap_stream_id") or s.get("stream") for s in catalog.get("streams") or []]
    connector.selected_streams = selection.choices(
        meltano["select"], meltano.get("metadata") or {}, names
    )


async def _mark_broken(
    scope: WorkspaceScope, connector: Connector, error: str, kind: str, *, what: str
) -> None:
    previous = connector.status
    connector.status = ConnectorStatus.error.value
    connector.status_reason = f"{what} failed ({kind}): {error}"[:500]
    await webhooks.connector_status_changed(scope, connector, previous)
    await notifications.raise_(
        scope, kind=f"source.{kind}_failed", subject_id=connector.id, level=Level.error,
        title=f"{connector.name}: {what} failed ({'credentials' if kind == 'auth' else kind})",
        body=f"{error}\nFix the connector's settings, test the connection, then activate it.",
        link=f"/connectors/installed?search={quote(connector.name)}",
    )  # fmt: skip


async def streams(scope: WorkspaceScope, connector_id: uuid.UUID) -> list[StreamInfo]:
    """The discovered streams, marked with the current choice. Raises NotFound, Conflict."""
    connector = await ConnectorRepository(scope).get(connector_id)
    if connector is None:
        raise NotFound("connector not found")
    if not connector.discovered_catalog:
        raise Conflict("test the connection first: it discovers the streams to pick from")
    return streams_of(connector.discovered_catalog, connector.selected_streams)


async def select_streams(
    scope: WorkspaceScope, connector_id: uuid.UUID, selection: StreamSelection
) -> list[StreamInfo]:
    """Raises NotFound, Conflict (nothing discovered yet), ValidationFailed (unknown stream or
    a replication key the stream does not offer)."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id, for_update=True)
    if connector is None:
        raise NotFound("connector not found")
    if not connector.discovered_catalog:
        raise Conflict("test the connection first: it discovers the streams to pick from")
    known = {s.name: s for s in streams_of(connector.discovered_catalog, None)}
    errors: dict[str, list[str]] = {}
    for index, choice in enumerate(selection.streams):
        stream = known.get(choice.name)
        if stream is None:
            errors[f"streams[{index}].name"] = [f"No stream {choice.name!r} was discovered."]
        elif choice.replication_method == "INCREMENTAL":
            allowed = stream.replication_keys or stream.columns
            if choice.replication_key not in allowed:
                errors[f"streams[{index}].replication_key"] = [
                    f"Pick one of: {', '.join(allowed)}."
                ]
    if errors:
        raise ValidationFailed(errors)
    chosen = [c.model_dump() for c in selection.streams]
    if chosen != connector.selected_streams:
        audit.record(
            scope, "connector.updated", "connector", connector.id,
            object_name=connector.name, fields=["selected_streams"],
        )  # fmt: skip
    connector.selected_streams = chosen
    ConnectorRepository(scope).touch(connector)
    return streams_of(connector.discovered_catalog, connector.selected_streams)


def selected_catalog(connector: Connector) -> dict[str, Any]:
    """The discovered catalog with the chosen streams (and all their columns) selected."""
    catalog = copy.deepcopy(connector.discovered_catalog or {"streams": []})
    chosen = {c["name"]: c for c in connector.selected_streams or []}
    for stream in catalog["streams"]:
        name = stream.get("tap_stream_id") or stream.get("stream")
        choice = chosen.get(name)
        for entry in stream.setdefault("metadata", []):
            meta = entry.setdefault("metadata", {})
            meta["selected"] = choice is not None
            if entry.get("breadcrumb") == [] and choice is not None:
                meta["replication-method"] = choice["replication_method"]
                if choice.get("replication_key"):
                    meta["replication-key"] = choice["replication_key"]
                stream["replication_method"] = choice["replication_method"]
                if choice.get("replication_key"):
                    stream["replication_key"] = choice["replication_key"]
        stream["selected"] = choice is not None
    return catalog


async def start(
    scope: WorkspaceScope, connector_id: uuid.UUID, *, trigger: str = "api", defer: bool = True
) -> SyncRun:
    """Queue a sync. Raises NotFound, BadRequest (not a source), Conflict (streams not picked
    yet, or a sync of this connector is already queued or running)."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id)
    if connector is None:
        raise NotFound("connector not found")
    if connector.catalog.kind != "source":
        raise BadRequest("only source connectors (Singer taps) can be synced")
    if not connector.selected_streams:
        raise Conflict("pick the streams to sync first (test the connection to discover them)")
    repository = SyncRunRepository(scope)
    active = await repository.active_for(connector_id)
    if active is not None and holder_is_gone(active.claimed_by):
        # Its process was killed: close it; this run resumes from the last saved state.
        end_run(active, SyncStatus.failed, "interrupted: the process running it stopped")
        active.error_kind = "interrupted"
        await _emit_outcome(scope, active)
        await scope.session.flush()
    run = SyncRun(
        id=uuid.uuid4(), connector_id=connector_id, status=SyncStatus.queued.value,
        trigger=trigger, attempt=0, cancel_requested=False,
        streams=[c["name"] for c in connector.selected_streams], rows={}, log_tail="",
    )  # fmt: skip
    try:
        async with scope.session.begin_nested():
            repository.add(run)
            await scope.session.flush()
    except IntegrityError:
        raise Conflict(f"a sync of {connector.name} is already queued or running") from None
    if defer:
        scope.defer(sync_job(scope.tenant_id, run.id))
    return run


def sync_job(tenant_id: str, run_id: uuid.UUID, *, take_over: bool = False) -> Job:
    kwargs: dict[str, Any] = {"tenant_id": tenant_id, "run_id": str(run_id)}
    if take_over:
        kwargs["take_over"] = True
    return Job("run_sync", kwargs, lock=f"sync:{run_id}")


async def claim(
    scope: WorkspaceScope, box: SecretBox, run_id: uuid.UUID, *, claimant: str, take_over: bool
) -> tuple[SyncRun, Source] | None:
    """Mark the run running for `claimant` (the rules are run/lifecycle.py's); a resumed run
    keeps its first start time. None when there is nothing to do, or when the connector's auth
    does not decrypt: then the run has ended failed with that reason (a permanent one, never
    retried) and the connector is in error."""
    run = await SyncRunRepository(scope).get_for_update(run_id)
    if not lifecycle.claim(run, claimant=claimant, take_over=take_over, restart_clock=False):
        return None
    assert run is not None
    try:
        found = await source(scope, box, run.connector_id)  # raises: the claim rolls back
    except CredentialsUnreadable as unreadable:
        end_run(run, SyncStatus.failed, unreadable.message)
        run.error_kind = UNREADABLE
        await _emit_outcome(scope, run)
        return None
    run.state_before = found.connector.singer_state
    return run, found


async def save_state(
    scope: WorkspaceScope, run_id: uuid.UUID, connector_id: uuid.UUID, claimant: str,
    *, state: dict[str, Any] | None, rows: dict[str, int],
) -> bool | None:  # fmt: skip
    """After the rows before it are committed: the new state (on the connector, where the next
    sync starts) and the counts so far. Returns whether a cancel was asked (None: lost claim)."""
    values: dict[str, Any] = {"rows": rows}
    if state is not None:
        values["state_after"] = state
    cancel = await SyncRunRepository(scope).save_progress(run_id, claimant, **values)
    if cancel is not None and state is not None:
        connector = await ConnectorRepository(scope).get(connector_id)
        if connector is not None:
            connector.singer_state = state
    return cancel


async def _emit_outcome(scope: WorkspaceScope, run: SyncRun) -> None:
    """`sync.succeeded` or `sync.failed` for a run that just ended so (its deliveries are
    queued after this transaction commits). The error is the run's, masked already."""
    if run.status not in (SyncStatus.succeeded, SyncStatus.failed):
        return
    await webhooks.emit(
        scope, webhooks.Event(f"sync.{run.status}"),
        {
            "sync_run_id": str(run.id), "connector_id": str(run.connector_id),
            "status": run.status, "trigger": run.trigger, "error": run.error,
            "error_kind": run.error_kind, "rows": run.rows, "duration_ms": run.duration_ms,
        },
    )  # fmt: skip


async def finish(
    scope: WorkspaceScope, run_id: uuid.UUID, claimant: str, status: SyncStatus, *,
    rows: dict[str, int], log_tail: str, error: str | None = None, error_kind: str | None = None,
) -> None:  # fmt: skip
    run = await SyncRunRepository(scope).get_for_update(run_id)
    if not lifecycle.may_finish(run, claimant):
        return
    assert run is not None
    end_run(run, status, error)
    run.rows, run.log_tail, run.error_kind = rows, log_tail[-8000:], error_kind
    await _emit_outcome(scope, run)
    if status != SyncStatus.failed or error_kind == RECONNECT:
        return
    connector = await ConnectorRepository(scope).get_with_catalog(run.connector_id, for_update=True)
    if connector is None:
        return
    if error_kind != TOKEN_ENDPOINT and await _broken_by(scope, connector, error_kind):
        await _mark_broken(scope, connector, error or "", error_kind or "crash", what="sync")
    else:
        await notifications.raise_(
            scope, kind="source.sync_failed", subject_id=connector.id, level=Level.warning,
            title=f"{connector.name}: sync failed", body=error or "",
            link=f"/connectors/installed?search={quote(connector.name)}",
        )  # fmt: skip


async def _broken_by(scope: WorkspaceScope, connector: Connector, error_kind: str | None) -> bool:
    """A failure the user must fix, or the last of FAILURES_BEFORE_ERROR in a row."""
    if error_kind in FIXABLE:
        return True
    recent = await SyncRunRepository(scope).search(
        connector_id=connector.id, status=None, page=1, page_size=FAILURES_BEFORE_ERROR
    )
    in_a_row = all(r.status == SyncStatus.failed.value for r in recent.items)
    return in_a_row and len(recent.items) >= FAILURES_BEFORE_ERROR


async def cancel(scope: WorkspaceScope, run_id: uuid.UUID) -> SyncRun:
    run = await SyncRunRepository(scope).get_for_update(run_id)
    if run is None:
        raise NotFound("sync run not found")
    lifecycle.request_cancel(run, "sync")
    SyncRunRepository(scope).touch(run)
    return run


async def read(scope: WorkspaceScope, run_id: uuid.UUID) -> SyncRun:
    run = await SyncRunRepository(scope).get(run_id)
    if run is None:
        raise NotFound("sync run not found")
    return run


async def search(
    scope: WorkspaceScope, *, connector_id: uuid.UUID | None = None, status: str | None = None,
    page: int = 1, page_size: int = 50,
) -> Page[SyncRun]:  # fmt: skip
    return await SyncRunRepository(scope).search(
        connector_id=connector_id, status=status, page=page, page_size=page_size
    )


async def per_day(
    scope: WorkspaceScope, since: datetime, *, connector_id: uuid.UUID | None = None
) -> list[tuple[str, str, int]]:
    """(day, status, sync runs) since `since`, for the charts."""
    return await SyncRunRepository(scope).per_day(since, connector_id=connector_id)


async def latest_per_connector(
    scope: WorkspaceScope, connector_ids: list[uuid.UUID], limit: int
) -> list[Any]:
    """The `limit` newest sync runs of each connector, oldest first (connector_id, created_at,
    status, duration_ms, rows: rows loaded per stream)."""
    return await SyncRunRepository(scope).latest_per_connector(connector_ids, limit, SyncRun.rows)


# --- Following a sync from outside its transaction (SSE) --------------------------------------

FOLLOW_POLL_SECONDS = 0.25


async def read_now(work: UnitOfWork, tenant_id: str, run_id: uuid.UUID) -> SyncRun:
    """The sync run as committed now, in a short transaction of its own. Raises NotFound."""
    async with work.workspace(tenant_id, None) as scope:
        return await read(scope, run_id)


async def follow(
    work: UnitOfWork,
    tenant_id: str,
    run_id: uuid.UUID,
    shown: Callable[[SyncRun], dict[str, Any]],
    *,
    stop: Callable[[], Awaitable[bool]],
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Live progress as `(event, data)`: `rows` (rows loaded per stream) whenever they grow,
    `status` on each change (as `shown` renders the run), then `end` — also when the run is
    deleted meanwhile. Stops early once `stop()` says so (the client went away)."""
    sent_rows: dict[str, Any] | None = None
    sent_status = None
    while not await stop():
        try:
            run = await read_now(work, tenant_id, run_id)
        except NotFound:
            yield "end", {"status": "deleted"}
            return
        if run.rows != sent_rows:
            sent_rows = dict(run.rows)
            yield "rows", {"rows": sent_rows, "total": sum(sent_rows.values())}
        if run.status != sent_status:
            sent_status = run.status
            yield "status", shown(run)
        if SyncStatus(run.status).finished:
            yield "end", {"status": run.status}
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)
