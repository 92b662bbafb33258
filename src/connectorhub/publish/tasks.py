"""The background jobs of publishing: send one publication (now, at its time, or again at the
provider's reset time), test a publisher's account, put back scheduled publications whose job
was lost, and find out at start-up what a killed embedded process left half-sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from connectorhub.db import WorkspaceScope, defer_after_commit
from connectorhub.kit.driver_errors import AuthFailed, DriverError, RetriableError
from connectorhub.kit.models import utcnow
from connectorhub.oauth.tokens import Holder, ReconnectNeeded, TokenKeeper, call_with_token
from connectorhub.publish import service
from connectorhub.publish.drivers import DRIVERS, driver_for
from connectorhub.publish.drivers.base import Account, PartlyPosted
from connectorhub.publish.models import PublicationStatus
from connectorhub.publish.repository import PublicationRepository, unfinished_publications
from connectorhub.publish.service import Outcome
from connectorhub.worker.claimants import holder_is_gone, process_alive_here
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import at_startup, job, periodic

log = logging.getLogger(__name__)
T = TypeVar("T")
ACTOR = "publisher"
LOST_AFTER = timedelta(minutes=1)  # a due publication still scheduled this long: its job is lost
STALLED_AFTER = timedelta(minutes=10)  # an attempt sending this long: its process died


UNKNOWN = (
    "an attempt may have posted and {provider} cannot be asked whether it did: check the "
    "account, then retry it or leave it"
)


def _failure(error: DriverError, *, maybe_posted: bool, can_find: bool) -> Outcome:
    """What a failed attempt means. `maybe_posted`: this attempt's create may have reached the
    provider (or an earlier attempt's may have, and it was not looked up yet)."""
    if isinstance(error, PartlyPosted):
        return Outcome(PublicationStatus.failed, error=error.message, error_kind="partial",
                       post_id=error.posted.post_id, url=error.posted.url)  # fmt: skip
    if isinstance(error, ReconnectNeeded):
        return Outcome(PublicationStatus.failed, error=error.message, error_kind="reconnect")
    if isinstance(error, AuthFailed):
        return Outcome(PublicationStatus.failed, error=error.message, error_kind="auth")
    if isinstance(error, RetriableError):
        if maybe_posted and not can_find:
            return Outcome(PublicationStatus.unknown, error_kind="unknown",
                           error=f"{UNKNOWN.format(provider='the provider')} ({error.message})")  # fmt: skip
        return Outcome(PublicationStatus.scheduled, error=error.message, error_kind="retriable",
                       retry_after=error.retry_after, check_first=maybe_posted)  # fmt: skip
    return Outcome(PublicationStatus.failed, error=error.message, error_kind="content")


async def _using_token(ctx: JobContext, tenant_id: str, connector_id: uuid.UUID | None,
                       secrets: dict[str, Any], renewable: bool,
                       use: Callable[[dict[str, Any]], Awaitable[T]]) -> T:  # fmt: skip
    """`use(secrets)`; an OAuth connector's token renewed first when due, and once more
    after the provider refuses it (oauth/tokens.py)."""
    if not renewable or connector_id is None:
        return await use(secrets)
    return await call_with_token(
        TokenKeeper.of(ctx), tenant_id, Holder.connector(connector_id), use
    )


async def _attempt(ctx: JobContext, tenant_id: str, claimed: service.Claimed) -> Outcome:
    if claimed.catalog_key not in DRIVERS:
        return Outcome(PublicationStatus.failed, error="no driver for this target yet",
                       error_kind="unavailable")  # fmt: skip
    can_find = True

    async def send(secrets: dict[str, Any]) -> Outcome:
        nonlocal can_find
        driver = driver_for(claimed.catalog_key, ctx.outbound, claimed.config, secrets,
                            ctx.settings, account=claimed.account)  # fmt: skip
        assert driver is not None
        can_find = driver.can_find
        if claimed.resolve and not driver.can_find:
            return Outcome(PublicationStatus.unknown, error_kind="unknown",
                           error=UNKNOWN.format(provider="the provider"))  # fmt: skip
        if claimed.resolve and (found := await driver.find(claimed.marker)) is not None:
            return Outcome(PublicationStatus.published, post_id=found.post_id, url=found.url)
        # Not resolving, or the provider says the earlier attempt posted nothing.
        posted = await driver.publish(claimed.content, claimed.marker)
        return Outcome(PublicationStatus.published, post_id=posted.post_id, url=posted.url)

    try:
        return await _using_token(ctx, tenant_id, claimed.connector_id, claimed.secrets,
                                  claimed.renewable, send)  # fmt: skip
    except DriverError as error:
        maybe = claimed.resolve or (isinstance(error, RetriableError) and error.maybe_sent)
        return _failure(error, maybe_posted=maybe, can_find=can_find)


@job
async def publish_publication(
    ctx: JobContext, tenant_id: str, publication_id: str, *, take_over: bool = False
) -> None:
    """One attempt: counted (and the publication marked sending) in its own transaction before
    the provider is called; the outcome stored in another. An attempt that may have posted is
    resolved by looking its post up (by marker) where the provider keeps one, and otherwise
    ends `unknown` — never posted blindly again."""
    publication_uuid = uuid.UUID(publication_id)
    async with ctx.work.workspace(tenant_id, ACTOR) as scope:
        claimed = await service.claim(
            scope, ctx.box, publication_uuid, claimant=ctx.claimant, take_over=take_over
        )
    if claimed is None:
        return
    try:
        outcome = await _attempt(ctx, tenant_id, claimed)
    except Exception:  # a bug must not leave the publication sending forever
        log.exception("publication %s in %s crashed", publication_id, tenant_id)
        outcome = Outcome(PublicationStatus.unknown, error_kind="unknown",
                          error="internal error while publishing (see the logs)")  # fmt: skip
    async with ctx.work.workspace(tenant_id, ACTOR) as scope:
        ended = await service.finish(
            scope, publication_uuid, ctx.claimant, outcome,
            max_attempts=ctx.settings.publish_max_attempts,
        )  # fmt: skip
        if ended is not None and ended[1] is not None:
            scope.defer(ended[1])


async def account_of(
    ctx: JobContext, tenant_id: str, catalog_key: str, config: dict[str, Any],
    secrets: dict[str, Any],
) -> Account:  # fmt: skip
    """The provider's "who am I" for these settings and credentials (a stored connector's or a
    draft's), nothing kept. Raises DriverError with the provider's words."""
    driver = driver_for(catalog_key, ctx.outbound, config, secrets, ctx.settings)
    if driver is None:
        raise DriverError("testing this target is not available in this version yet")
    try:
        return await driver.check_account()
    except (KeyError, TypeError, ValueError, AttributeError) as odd:  # an answer of another shape
        log.warning("%s: unexpected account answer: %r", tenant_id, odd)
        raise DriverError("the provider answered in a shape ConnectorHub does not know") from None


async def check_account(ctx: JobContext, tenant_id: str, connector_id: uuid.UUID) -> Account:
    """A publisher's test: the provider's "who am I", outside any transaction. The identity
    is stored on success; refused credentials set the connector to error and notify.
    Raises DriverError with the provider's words."""
    async with ctx.work.workspace(tenant_id, "test") as scope:
        target = await service.test_target(scope, ctx.box, connector_id)
    error: DriverError | None = None
    account = None

    async def who_am_i(secrets: dict[str, Any]) -> Account:
        return await account_of(ctx, tenant_id, target.catalog_key, target.config, secrets)

    try:
        account = await _using_token(ctx, tenant_id, connector_id, target.secrets,
                                     target.renewable, who_am_i)  # fmt: skip
    except DriverError as failure:
        error = failure
    async with ctx.work.workspace(tenant_id, "test") as scope:
        await service.record_test(scope, connector_id, account=account, error=error)
    if error is not None:
        raise error
    assert account is not None
    return account


@periodic(cron="* * * * *", embedded=True)
async def requeue_lost_publications(ctx: JobContext) -> int:
    """Queue again the scheduled publications whose time came a while ago and are still
    scheduled (their job was lost, or the service was down: they go out once, late)."""
    # The embedded default's jobs live in one process's memory (a `connectorhub publish --at`
    # process has exited by then): it takes due ones at once; workers give the queue a minute.
    cutoff = utcnow() - (timedelta(0) if ctx.settings.is_sqlite else LOST_AFTER)

    async def requeue(scope: WorkspaceScope) -> int:
        due = await PublicationRepository(scope).due_before(cutoff)
        for publication_id, _ in due:
            scope.defer(service.publish_job(scope.tenant_id, publication_id))
        return len(due)

    return sum((await ctx.work.for_each_workspace(ACTOR, requeue)).values())


@at_startup
async def resume_publications(ctx: JobContext) -> int:
    """Embedded default, at start (this process is the only worker): scheduled publications are
    queued for their time; half-sent ones are resolved at the provider."""
    resumed = 0
    async with ctx.work.transaction() as session:
        for row in await unfinished_publications(session):
            sending = row.status == PublicationStatus.sending.value
            if sending and not holder_is_gone(row.claimed_by):
                continue  # still being sent by a live process (a `connectorhub publish`, say)
            defer_after_commit(session, service.publish_job(
                row.tenant_id, row.id, at=None if sending else row.publish_at, take_over=sending))  # fmt: skip
            resumed += 1
    if resumed:
        log.info("resumed %d unfinished publications", resumed)
    return resumed


@periodic(cron="*/5 * * * *", embedded=True)
async def resolve_stalled_publications(ctx: JobContext) -> int:
    """Publications left `sending` by a process that died mid-call (a `serve` publishing now,
    a `connectorhub publish`): after STALLED_AFTER they are looked up at the provider, or end
    `unknown` and notify. Queue jobs need none of this (the workers retry stalled jobs)."""
    cutoff = utcnow() - STALLED_AFTER

    async def resolve(scope: WorkspaceScope) -> int:
        taken = 0
        for publication_id, claimed_by in await PublicationRepository(scope).sending_since(cutoff):
            # A process of another machine still sending after STALLED_AFTER is taken for dead:
            # a publish call gives up within a minute.
            if (claimed_by or "").startswith("process:") and not process_alive_here(claimed_by):
                scope.defer(service.publish_job(scope.tenant_id, publication_id, take_over=True))
                taken += 1
        return taken

    return sum((await ctx.work.for_each_workspace(ACTOR, resolve, keep_going=True)).values())
