"""The background jobs of publishing: send one publication (now, at its time, or again at the
provider's reset time), test a publisher's account, put back scheduled publications whose job
was lost, and find out at start-up what a killed embedded process left half-sent."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from connectorhub.db import WorkspaceScope, defer_after_commit
from connectorhub.kit.driver_errors import AuthFailed, DriverError, RetriableError
from connectorhub.kit.models import utcnow
from connectorhub.publish import service
from connectorhub.publish.drivers import driver_for
from connectorhub.publish.drivers.base import Account
from connectorhub.publish.models import PublicationStatus
from connectorhub.publish.repository import PublicationRepository, unfinished_publications
from connectorhub.publish.service import Outcome
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import at_startup, job, periodic

log = logging.getLogger(__name__)
ACTOR = "publisher"
LOST_AFTER = timedelta(minutes=1)  # a due publication still scheduled this long: its job is lost


def _failure(error: DriverError) -> Outcome:
    if isinstance(error, AuthFailed):
        return Outcome(PublicationStatus.failed, error=error.message, error_kind="auth")
    if isinstance(error, RetriableError):
        return Outcome(PublicationStatus.scheduled, error=error.message, error_kind="retriable",
                       retry_after=error.retry_after)  # fmt: skip
    return Outcome(PublicationStatus.failed, error=error.message, error_kind="content")


@job
async def publish_publication(
    ctx: JobContext, tenant_id: str, publication_id: str, *, take_over: bool = False
) -> None:
    """One attempt: counted (and the publication marked sending) in its own transaction before
    the provider is called; the outcome stored in another. An attempt cut short is resolved by
    looking its post up (by marker), never by posting blindly again."""
    publication_uuid = uuid.UUID(publication_id)
    async with ctx.work.workspace(tenant_id, ACTOR) as scope:
        claimed = await service.claim(
            scope, ctx.box, publication_uuid, claimant=ctx.claimant, take_over=take_over
        )
    if claimed is None:
        return
    driver = driver_for(
        claimed.catalog_key, ctx.outbound.session, claimed.config, claimed.secrets,
        ctx.settings,
    )  # fmt: skip
    try:
        if driver is None:
            outcome = Outcome(PublicationStatus.failed, error="no driver for this target yet",
                              error_kind="unavailable")  # fmt: skip
        elif claimed.resolve and (found := await driver.find(claimed.marker)) is not None:
            outcome = Outcome(PublicationStatus.published, post_id=found.post_id, url=found.url)
        else:
            # Not resolving, or the provider says the cut-short attempt posted nothing.
            posted = await driver.publish(claimed.content, claimed.marker)
            outcome = Outcome(PublicationStatus.published, post_id=posted.post_id, url=posted.url)
    except NotImplementedError:  # the provider cannot be asked what the attempt did
        outcome = Outcome(PublicationStatus.unknown, error_kind="unknown", error=(
            "an attempt was cut short and the provider cannot say whether it posted: check the "
            "account, then retry or leave it"))  # fmt: skip
    except DriverError as error:
        outcome = _failure(error)
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


async def check_account(ctx: JobContext, tenant_id: str, connector_id: uuid.UUID) -> Account:
    """A publisher's test: the provider's "who am I", outside any transaction. The identity
    is stored on success; refused credentials set the connector to error and notify.
    Raises DriverError with the provider's words."""
    async with ctx.work.workspace(tenant_id, "test") as scope:
        target = await service.test_target(scope, ctx.box, connector_id)
    driver = driver_for(
        target.catalog_key, ctx.outbound.session, target.config, target.secrets,
        ctx.settings,
    )  # fmt: skip
    error: DriverError | None = None
    account = None
    try:
        if driver is None:
            raise DriverError("testing this target is not available in this version yet")
        account = await driver.check_account()
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
    cutoff = utcnow() - LOST_AFTER

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
    async with ctx.work.transaction() as session:
        rows = await unfinished_publications(session)
        for tenant_id, publication_id, status, at in rows:
            sending = status == PublicationStatus.sending.value
            defer_after_commit(session, service.publish_job(
                tenant_id, publication_id, at=None if sending else at, take_over=sending))  # fmt: skip
    if rows:
        log.info("resumed %d unfinished publications", len(rows))
    return len(rows)
