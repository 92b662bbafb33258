"""The background jobs of sources: one sync (the tap run whole, its output through the Loader,
see sync/loader.py), the connection test run outside any transaction, starting the scheduled
syncs that are due, and at start-up removing the tap directories a killed process left (and
stopping what still runs from them, see sync/workdirs.py) and requeueing its unfinished syncs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from connectorhub.exceptions import CredentialsUnreadable
from connectorhub.kit.driver_errors import AuthFailed, DriverError, RetriableError
from connectorhub.kit.models import utcnow
from connectorhub.kit.plugins import PluginInstallFailed
from connectorhub.oauth.providers import provider_of
from connectorhub.oauth.tokens import Holder, ReconnectNeeded, TokenKeeper, usable
from connectorhub.run.repository import requeue_unfinished
from connectorhub.sync import destinations, schedule, service, workdirs
from connectorhub.sync.loader import ACTOR, Cancelled, Loader
from connectorhub.sync.models import SyncRun, SyncStatus
from connectorhub.sync.schemas import ConnectionTest
from connectorhub.sync.singer import SingerParser, SingerProtocolError
from connectorhub.sync.tap import (
    TapFailed,
    TapProcess,
    classify,
    discover,
    mask_of,
    rewritten_settings,
    start_tap,
    sync_arguments,
    tap_files,
)
from connectorhub.sync.target import Target, TargetPipe
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import at_every_start, at_startup, job, periodic

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _keeping_rewritten(
    ctx: JobContext, tenant_id: str, found: service.Source, config_path: Path
):
    """After the tap, however it ended: keep credentials it rotated in its config file."""
    try:
        yield
    finally:
        rewritten = rewritten_settings(config_path, found.tap_config)
        # New values are secrets too: masked in whatever the tap printed from here on.
        found.secrets.extend(v for v in rewritten.values() if isinstance(v, str))
        try:
            if rewritten:
                async with ctx.work.workspace(tenant_id, ACTOR) as scope:
                    await service.keep_rewritten_settings(
                        scope, ctx.box, found.connector.id, rewritten, found.tap_config
                    )
        except Exception:  # the sync's own outcome matters more: keep it, log this
            log.exception("%s: keeping credentials the tap rotated failed", tenant_id)


async def _with_live_token(ctx: JobContext, tenant_id: str, found: service.Source) -> None:
    """OAuth sources: the token renewed first when due (oauth/tokens.py), and the operator's
    OAuth app as the tap's client when the connector names none of its own. Raises TapFailed."""
    entry = found.entry
    if entry.auth_type != "oauth" or not entry.oauth:
        return
    try:
        secrets = await usable(TokenKeeper.of(ctx), tenant_id, Holder.connector(found.connector.id))
    except ReconnectNeeded as dead:
        raise TapFailed(service.RECONNECT, dead.message) from None
    except RetriableError as down:
        raise TapFailed(service.TOKEN_ENDPOINT, down.message) from None
    except DriverError as error:
        raise TapFailed(
            "auth" if isinstance(error, AuthFailed) else "config", error.message
        ) from None
    provider = provider_of(entry, ctx.settings)
    app = (
        {"client_id": provider.client_id, "client_secret": provider.client_secret}
        if provider
        else {}
    )
    rename = found.plugin.get("settings_rename") or {}
    for field, value in {**{k: v for k, v in app.items() if v}, **secrets}.items():
        found.tap_config[rename.get(field, field)] = value
        if field not in ("client_id", "expires_at") and value not in found.secrets:
            found.secrets.append(value)


async def _stop_earlier_attempts(root: Path, prefix: str) -> list[str]:
    """Raises TapFailed when a process of an earlier attempt will not stop."""
    try:
        return (await workdirs.reap(root, prefix, fenced_off_too=True)).notes
    except workdirs.StillRunning as running:
        raise TapFailed("overlap", str(running)) from None


async def into_target(
    ctx: JobContext, loader: Loader, tap: TapProcess, target: Target, paths: dict[str, Path]
) -> int:
    """The tap's output piped into the target (sync/target.py); each state the target reports
    is saved as the loader saves one. Returns the tap's exit code; raises TapFailed when the
    target failed, Cancelled."""
    executable = ctx.plugins.executable(target.plugin)

    async def save(state: dict[str, Any], rows: dict[str, int]) -> None:
        loader.rows.clear()
        loader.rows.update(rows)
        await loader.save(state)

    async with start_tap(
        executable, ["--config", str(paths["target_config"])], secrets=target.secrets,
        directory=paths["directory"], stdin=True,
    ) as process:  # fmt: skip
        pipe = TargetPipe(save)
        code, target_code = await pipe.run(tap, process)
        loader.rows.clear()
        loader.rows.update(pipe.rows)
        if target_code != 0:
            tail = process.stderr_tail
            raise TapFailed(
                "destination", f"the target {target.name} exited with code {target_code}",
                f"{tap.stderr_tail}\n--- target {target.name} ---\n{tail}".strip(),
            )  # fmt: skip
        if code == 0:
            await loader.save(None)  # the counts; the state is only ever the target's
    return code


@job
async def run_sync(
    ctx: JobContext, tenant_id: str, run_id: str, *, take_over: bool = False
) -> None:
    run_uuid = uuid.UUID(run_id)
    async with ctx.work.workspace(tenant_id, ACTOR) as scope:
        claimed = await service.claim(
            scope, ctx.box, run_uuid, claimant=ctx.claimant, take_over=take_over
        )
        if claimed is None:
            return
        run, found = claimed
        catalog = service.selected_catalog(found.connector)
        state = found.connector.singer_state
        connector_id, streams = found.connector.id, set(run.streams)
        try:
            target, unreadable = (
                await destinations.target_for(scope, ctx.box, found.connector),
                None,
            )
        except CredentialsUnreadable as refused:  # the target is marked; the claim is kept
            target, unreadable = None, refused
    loader = Loader(ctx, tenant_id, run_uuid, connector_id, found.connector.name)
    timeout = ctx.settings.sync_timeout_seconds
    status, error, kind, tail = SyncStatus.succeeded, None, None, ""
    root, prefix = workdirs.root_of(ctx.settings.data_dir), f"sync-{connector_id}-"
    try:
        if unreadable is not None:
            raise TapFailed("destination", f"the destination's {unreadable.message}")
        if target is not None:
            found.secrets.extend(target.secrets)  # masked in the tap's and the target's output
        # Never beside a tap of an earlier attempt (this run's before a restart, or one that
        # was interrupted): what still runs is stopped, and its files removed, first.
        earlier = await _stop_earlier_attempts(root, prefix)
        await _with_live_token(ctx, tenant_id, found)
        await ctx.plugins.install(found.plugin)
        if target is not None:
            await ctx.plugins.install(target.plugin)
        executable = ctx.plugins.executable(found.plugin)
        with tap_files(
            root, prefix, config=found.tap_config, catalog=catalog, state=state,
            target_config=target.config if target else None,
        ) as paths:  # fmt: skip
            async with (
                _keeping_rewritten(ctx, tenant_id, found, paths["config"]),
                start_tap(
                    executable,
                    sync_arguments(found.plugin["capabilities"], paths),
                    secrets=found.secrets,
                    directory=paths["directory"],
                ) as tap,
            ):
                try:
                    async with asyncio.timeout(timeout):
                        if target is None:
                            await loader.consume(tap.chunks(), SingerParser(streams))
                            code = await tap.wait()
                        else:
                            code = await into_target(ctx, loader, tap, target, paths)
                except TimeoutError:
                    tap.kill()
                    raise TapFailed(
                        "timeout", f"the sync ran longer than {timeout:.0f} s"
                    ) from None
                except (Cancelled, SingerProtocolError):
                    tap.kill()
                    raise
                tail = tap.stderr_tail
                if code != 0:
                    raise TapFailed(classify(tail), f"the tap exited with code {code}", tail)
                notes = [] if target else await loader.remove_older_versions()
                tail = "\n".join([*earlier, tail, *notes]).strip()
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
        mask_of(found.secrets).log_exception(log, "sync %s in %s failed", run_id, tenant_id)
        status, error, kind = SyncStatus.failed, f"loading failed: {failure}"[:1000], "destination"
    finally:
        await loader.close()
    mask = mask_of(found.secrets)  # with any credential the tap rotated meanwhile
    tail, error = mask.text(tail), mask.text(error) if error else error
    async with ctx.work.workspace(tenant_id, ACTOR) as scope:
        await service.finish(
            scope, run_uuid, ctx.claimant, status, rows=loader.rows, log_tail=tail,
            error=error, error_kind=kind,
        )  # fmt: skip


async def run_connection_test(
    ctx: JobContext, tenant_id: str, connector_id: uuid.UUID
) -> ConnectionTest:
    """Discovery with the connector's config, outside any transaction (it may take a while);
    the outcome is stored in a short one after. Raises CredentialsUnreadable (the connector's
    auth does not decrypt: it is marked in error, and that is kept)."""
    unreadable = None
    async with ctx.work.workspace(tenant_id, "test") as scope:
        try:
            found = await service.source(scope, ctx.box, connector_id)
        except CredentialsUnreadable as refused:
            unreadable = refused  # raised once the mark is committed
    if unreadable is not None:
        raise unreadable
    found_out = await discovery(ctx, tenant_id, found, prefix=f"test-{connector_id}-")
    async with ctx.work.workspace(tenant_id, "test") as scope:
        await service.keep_rewritten_settings(
            scope, ctx.box, connector_id, found_out.rewritten, found.tap_config
        )
        return await service.record_test(
            scope, connector_id, catalog=found_out.catalog, error=found_out.error,
            error_kind=found_out.kind, stderr_tail=found_out.tail,
        )  # fmt: skip


@dataclass
class Discovery:
    """What a tap's discovery found, or why not (its error and stderr tail masked)."""

    catalog: dict[str, Any] | None
    error: str | None = None
    kind: str | None = None
    tail: str = ""
    rewritten: dict[str, Any] = dataclasses.field(default_factory=dict)


async def discovery(
    ctx: JobContext, tenant_id: str, found: service.Source, *, prefix: str
) -> Discovery:
    """The tap installed if need be, then its discovery with `found`'s config (a stored
    connector's, or a draft's), outside any transaction; nothing is stored."""
    catalog, error, kind, tail, rewritten = None, None, None, "", {}
    try:
        if found.connector is not None:  # a draft has no stored grant to renew
            await _with_live_token(ctx, tenant_id, found)
        await ctx.plugins.install(found.plugin)
        catalog = await discover(
            ctx.plugins.executable(found.plugin), found.tap_config, secrets=found.secrets,
            seconds=ctx.settings.tap_discovery_timeout_seconds, rewritten=rewritten,
            root=workdirs.root_of(ctx.settings.data_dir), prefix=prefix,
        )  # fmt: skip
    except PluginInstallFailed as failure:
        error, kind, tail = str(failure).splitlines()[0], "install", failure.output_tail
    except TapFailed as failure:
        error, kind, tail = failure.message, failure.kind, failure.stderr_tail
    mask = mask_of([*found.secrets, *(v for v in rewritten.values() if isinstance(v, str))])
    tail, error = mask.text(tail), mask.text(error) if error else error
    return Discovery(catalog, error, kind, tail, rewritten)


@periodic(cron="* * * * *", embedded=True)
async def start_scheduled_syncs(ctx: JobContext, now: datetime | None = None) -> int:
    """Start every scheduled sync (and scheduled HTTP connector run) that is due, workspace by workspace (each in its own
    transaction, so one workspace's trouble never holds up another's)."""
    now = now or utcnow()

    async def start_due(scope) -> int:
        return await schedule.start_due(scope, now, ctx.box)

    started = await ctx.work.for_each_workspace("schedule", start_due, keep_going=True)
    return sum(started.values())


@at_every_start
async def remove_stale_tap_directories(ctx: JobContext) -> int:
    """At the start of `serve` (before the embedded default requeues unfinished syncs) and of
    each worker: the working directories a killed process of this host left, with the config
    files (secrets) in them, are removed, and any tap process still running from them is
    stopped first; live processes' directories are kept. Returns how many went."""
    reaped = await workdirs.reap(workdirs.root_of(ctx.settings.data_dir))
    return reaped.removed + workdirs.remove_legacy_directories()


@at_startup
async def requeue_unfinished_syncs(ctx: JobContext) -> int:
    """Embedded default, at start: syncs a killed process left queued or running are taken
    over (this process is the only worker); each resumes from its last saved state."""
    return await requeue_unfinished(
        ctx.work,
        SyncRun,
        lambda tenant_id, run_id: service.sync_job(tenant_id, run_id, take_over=True),
    )
