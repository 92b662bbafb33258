"""The background job that runs one sync: the tap's messages are loaded batch by batch, and a
STATE is saved only after every row before it is committed to the destination, so a sync killed
at any moment resumes from the last saved state with nothing lost (rows after it are delivered
again and upserted, never duplicated)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service
from connectorhub.sync.destination import destination_for
from connectorhub.sync.models import SyncStatus
from connectorhub.sync.plugins import PluginInstallFailed
from connectorhub.sync.singer import Record, Schema, SingerParser, SingerProtocolError, State
from connectorhub.sync.tap import (
    TapFailed,
    classify,
    rewritten_settings,
    start_tap,
    tap_files,
)

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)
ACTOR = "sync"
BATCH_ROWS = 5000  # rows buffered per stream before they are loaded (state or not)


class _Cancelled(Exception):
    pass


@contextlib.asynccontextmanager
async def _keeping_rewritten(hub: Hub, tenant_id: str, found: service.Source, config_path):
    """After the tap, however it ended: keep credentials it rotated in its config file."""
    try:
        yield
    finally:
        rewritten = rewritten_settings(config_path, found.tap_config)
        if rewritten:
            async with hub.transaction() as session:
                scope = await WorkspaceScope.open(session, tenant_id, ACTOR)
                await service.keep_rewritten_settings(scope, hub.box, found.connector.id, rewritten)


async def run_sync(
    hub: Hub, tenant_id: str, run_id: str, *, claimant: str, take_over: bool = False
) -> None:
    run_uuid = uuid.UUID(run_id)
    async with hub.transaction() as session:
        scope = await WorkspaceScope.open(session, tenant_id, ACTOR)
        claimed = await service.claim(
            scope, hub.box, run_uuid, claimant=claimant, take_over=take_over
        )
        if claimed is None:
            return
        run, found = claimed
        catalog = service.selected_catalog(found.connector)
        state = found.connector.singer_state
        connector_id, streams = found.connector.id, set(run.streams)
    loader = _Loader(hub, tenant_id, run_uuid, connector_id, claimant, found.connector.name)
    status, error, kind, tail = SyncStatus.succeeded, None, None, ""
    try:
        await hub.plugins.install(found.plugin)
        executable = hub.plugins.executable(found.plugin)
        flag = (
            "--properties"
            if "properties" in found.plugin["capabilities"]
            and ("catalog" not in found.plugin["capabilities"])
            else "--catalog"
        )
        with tap_files(config=found.tap_config, catalog=catalog, state=state) as paths:
            args = ["--config", str(paths["config"]), flag, str(paths["catalog"])]
            if "state" in paths:
                args += ["--state", str(paths["state"])]
            async with (
                _keeping_rewritten(hub, tenant_id, found, paths["config"]),
                start_tap(executable, args, secrets=found.secrets) as tap,
            ):
                try:
                    async with asyncio.timeout(hub.settings.sync_timeout_seconds):
                        await loader.consume(tap.lines(), SingerParser(streams))
                        code = await tap.wait()
                except TimeoutError:
                    tap.kill()
                    raise TapFailed(
                        "timeout",
                        f"the sync ran longer than {hub.settings.sync_timeout_seconds:.0f} s",
                    ) from None
                except (_Cancelled, SingerProtocolError):
                    tap.kill()
                    raise
                tail = tap.stderr_tail
                if code != 0:
                    raise TapFailed(classify(tail), f"the tap exited with code {code}", tail)
    except _Cancelled:
        status, error = SyncStatus.cancelled, "cancelled while running"
    except PluginInstallFailed as failure:
        status, error, kind, tail = SyncStatus.failed, str(failure), "install", failure.output_tail
    except TapFailed as failure:
        status, error, kind = SyncStatus.failed, failure.message, failure.kind
        tail = failure.stderr_tail or tail
    except SingerProtocolError as failure:
        status, error, kind = (
            SyncStatus.failed,
            f"the tap broke the Singer protocol: {failure}",
            "protocol",
        )
    except Exception as failure:  # the destination refused a batch, say
        log.exception("sync %s in %s failed", run_id, tenant_id)
        status, error, kind = SyncStatus.failed, f"loading failed: {failure}"[:1000], "destination"
    finally:
        await loader.close()
    async with hub.transaction() as session:
        scope = await WorkspaceScope.open(session, tenant_id, ACTOR)
        await service.finish(
            scope, run_uuid, claimant, status, rows=loader.rows, log_tail=tail,
            error=error, error_kind=kind,
        )  # fmt: skip


async def start_due_syncs(hub: Hub, now: datetime | None = None) -> int:
    """Start every scheduled sync that is due, workspace by workspace (each in its own
    transaction, so one workspace's trouble never holds up another's)."""
    from connectorhub.sync.schedule import start_due
    from connectorhub.tenant.service import workspace_ids

    now = now or utcnow()
    async with hub.transaction() as session:
        tenants = list(await workspace_ids(session))
    started = 0
    for tenant_id in tenants:
        try:
            async with hub.transaction() as session:
                scope = await WorkspaceScope.open(session, tenant_id, "schedule")
                started += await start_due(scope, now)
        except Exception:
            log.exception("scheduled syncs of workspace %s failed to start", tenant_id)
    return started


async def run_schedules(hub: Hub, every_seconds: float) -> None:
    """The embedded default's scheduler: look for due syncs every `every_seconds` until
    cancelled (PostgreSQL deployments use a Procrastinate periodic task instead)."""
    while True:
        try:
            await start_due_syncs(hub)
        except Exception:  # the database away for a moment: try again next turn
            log.exception("looking for scheduled syncs failed")
        await asyncio.sleep(every_seconds)


class _Loader:
    def __init__(self, hub: Hub, tenant_id: str, run_id: uuid.UUID, connector_id: uuid.UUID,
                 claimant: str, source: str):  # fmt: skip
        self.hub, self.tenant_id, self.run_id = hub, tenant_id, run_id
        self.connector_id, self.claimant, self.source = connector_id, claimant, source
        self.destination = destination_for(hub.settings, tenant_id)
        self.schemas: dict[str, Schema] = {}
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.rows: dict[str, int] = defaultdict(int)

    async def consume(self, lines: Any, parser: SingerParser) -> None:
        async for line in lines:
            message = parser.parse(line)
            if isinstance(message, Record):
                buffer = self.buffers[message.stream]
                buffer.append(message.record)
                if len(buffer) >= BATCH_ROWS:
                    await self._flush(message.stream)
            elif isinstance(message, Schema):
                await self._flush(message.stream)  # rows of the old schema first
                self.schemas[message.stream] = message
                await self.destination.prepare(self.source, message)
            elif isinstance(message, State):
                for stream in list(self.buffers):
                    await self._flush(stream)
                await self._save(message.value)
        for stream in list(self.buffers):
            await self._flush(stream)
        await self._save(None)

    async def _flush(self, stream: str) -> None:
        records = self.buffers.pop(stream, [])
        if records:
            self.rows[stream] += await self.destination.load(
                self.source, self.schemas[stream], records
            )

    async def _save(self, state: dict[str, Any] | None) -> None:
        async with self.hub.transaction() as session:
            scope = await WorkspaceScope.open(session, self.tenant_id, ACTOR)
            cancel = await service.save_state(
                scope, self.run_id, self.connector_id, self.claimant,
                state=state, rows=dict(self.rows),
            )  # fmt: skip
        if cancel is None or cancel:  # None: another claimant holds the run now; stop loading
            raise _Cancelled

    async def close(self) -> None:
        await self.destination.close()
