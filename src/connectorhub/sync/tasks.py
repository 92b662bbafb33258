"""The background jobs of sources: one sync (the tap run whole, its output through the Loader,
see sync/loader.py), and starting the scheduled syncs that are due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service
from connectorhub.sync.loader import ACTOR, Cancelled, Loader
from connectorhub.sync.models import SyncStatus
from connectorhub.sync.plugins import PluginInstallFailed
from connectorhub.sync.schemas import ConnectionTest
from connectorhub.sync.singer import SingerParser, SingerProtocolError
from connectorhub.sync.tap import (
    Masker,
    TapFailed,
    classify,
    discover,
    rewritten_settings,
    start_tap,
    tap_files,
)

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _keeping_rewritten(hub: Hub, tenant_id: str, found: service.Source, config_path):
    """After the tap, however it ended: keep credentials it rotated in its config file."""
    try:
        yield
    finally:
        rewritten = rewritten_settings(config_path, found.tap_config)
        # New values are secrets too: masked in whatever the tap printed from here on.
        found.secrets.extend(v for v in rewritten.values() if isinstance(v, str))
        try:
            if rewritten:
                async with hub.transaction() as session:
                    scope = await WorkspaceScope.open(session, tenant_id, ACTOR)
                    await service.keep_rewritten_settings(
                        scope, hub.box, found.connector.id, rewritten, found.tap_config
                    )
        except Exception:  # the sync's own outcome matters more: keep it, log this
            log.exception("%s: keeping credentials the tap rotated failed", tenant_id)


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
    loader = Loader(hub, tenant_id, run_uuid, connector_id, claimant, found.connector.name)
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
                except (Cancelled, SingerProtocolError):
                    tap.kill()
                    raise
                tail = tap.stderr_tail
                if code != 0:
                    raise TapFailed(classify(tail), f"the tap exited with code {code}", tail)
                notes = await loader.remove_older_versions()
                tail = "\n".join([tail, *notes]).strip()
    except Cancelled:
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
    mask = Masker(found.secrets)  # with any credential the tap rotated meanwhile
    tail, error = mask(tail), mask(error) if error else error
    async with hub.transaction() as session:
        scope = await WorkspaceScope.open(session, tenant_id, ACTOR)
        await service.finish(
            scope, run_uuid, claimant, status, rows=loader.rows, log_tail=tail,
            error=error, error_kind=kind,
        )  # fmt: skip


async def run_connection_test(hub: Hub, tenant_id: str, connector_id: uuid.UUID) -> ConnectionTest:
    """Discovery with the connector's config, outside any transaction (it may take a while);
    the outcome is stored in a short one after."""
    async with hub.transaction() as session:
        found = await service.source(
            await WorkspaceScope.open(session, tenant_id, "test"), hub.box, connector_id
        )
    catalog, error, kind, tail, rewritten = None, None, None, "", {}
    try:
        await hub.plugins.install(found.plugin)
        catalog = await discover(
            hub.plugins.executable(found.plugin), found.tap_config, secrets=found.secrets,
            seconds=hub.settings.tap_discovery_timeout_seconds, rewritten=rewritten,
        )  # fmt: skip
    except PluginInstallFailed as failure:
        error, kind, tail = str(failure).splitlines()[0], "install", failure.output_tail
    except TapFailed as failure:
        error, kind, tail = failure.message, failure.kind, failure.stderr_tail
    async with hub.transaction() as session:
        scope = await WorkspaceScope.open(session, tenant_id, "test")
        await service.keep_rewritten_settings(
            scope, hub.box, connector_id, rewritten, found.tap_config
        )
        mask = Masker(v for v in rewritten.values() if isinstance(v, str))
        tail, error = mask(tail), mask(error) if error else error
        return await service.record_test(
            scope, connector_id, catalog=catalog, error=error, error_kind=kind, stderr_tail=tail
        )


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
