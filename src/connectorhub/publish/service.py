"""Publishing rules: check content against the target before any call, create publications
(idempotent), claim one attempt at a time, end each exactly once, cancel and retry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from connectorhub.audit import service as audit
from connectorhub.connector import unreadable
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.db import UnitOfWork, WorkspaceScope
from connectorhub.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.driver_errors import AuthFailed, DriverError
from connectorhub.kit.models import utcnow
from connectorhub.kit.outbound import backoff_delay
from connectorhub.kit.polling import poll_until
from connectorhub.kit.repository import Page
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.oauth.tokens import ReconnectNeeded
from connectorhub.publish.content import content_errors
from connectorhub.publish.drivers.base import Account
from connectorhub.publish.models import Publication, PublicationStatus
from connectorhub.publish.repository import PublicationRepository
from connectorhub.publish.schemas import PublishRequest
from connectorhub.webhook import events as webhooks
from connectorhub.worker.claimants import same_job
from connectorhub.worker.queue import Job

RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 900.0


def marker(publication_id: uuid.UUID) -> str:
    """What a post carries so an interrupted attempt's post can be found at the provider."""
    return f"connectorhub:publication:{publication_id}"


def publish_job(tenant_id: str, publication_id: uuid.UUID, *, at: datetime | None = None,
                take_over: bool = False) -> Job:  # fmt: skip
    kwargs: dict[str, Any] = {"tenant_id": tenant_id, "publication_id": str(publication_id)}
    if take_over:
        kwargs["take_over"] = True
    return Job("publish_publication", kwargs, lock=f"publication:{publication_id}", at=at)


async def _publisher(scope: WorkspaceScope, connector_id: uuid.UUID) -> Connector:
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id)
    if connector is None:
        raise NotFound("connector not found")
    if connector.catalog.kind != "publisher" or not connector.catalog.publishing:
        raise BadRequest("only publisher connectors (WordPress, X, LinkedIn, Medium) publish")
    return connector


async def start(
    scope: WorkspaceScope, connector_id: uuid.UUID, request: PublishRequest, *,
    idempotency_key: str | None, now: datetime | None = None, defer_now: bool = False,
) -> tuple[Publication, bool]:  # fmt: skip
    """A new publication, scheduled (its job after the commit) or due now (the caller runs it
    after the commit, or with `defer_now` the workers do). Returns it and whether it is new: a repeated Idempotency-Key returns the
    first one. Raises NotFound, BadRequest, Conflict (inactive, or no driver yet),
    ValidationFailed (content the target cannot take)."""
    repository = PublicationRepository(scope)
    if idempotency_key:
        existing = await repository.by_idempotency_key(connector_id, idempotency_key)
        if existing is not None:
            return existing, False
    connector = await _publisher(scope, connector_id)
    rules = connector.catalog.publishing or {}
    if connector.status != ConnectorStatus.active.value:
        raise Conflict(
            f"the connector is {connector.status}: activate it before publishing"
            + (f" (last error: {connector.status_reason})" if connector.status_reason else "")
        )
    if errors := content_errors(rules["name"], rules, request):
        raise ValidationFailed(errors, f"{rules['name']} cannot take this content")
    if not rules.get("available"):
        raise Conflict(f"publishing to {rules['name']} is not available in this version yet")
    now = now or utcnow()
    publication = Publication(
        id=uuid.uuid4(), connector_id=connector_id, status=PublicationStatus.scheduled.value,
        content=request.model_dump(mode="json", exclude={"publish_at"}, exclude_none=True),
        publish_at=max(request.publish_at, now) if request.publish_at else now,
        idempotency_key=idempotency_key, attempts=0,
    )  # fmt: skip
    publication, created = await repository.add_once(
        publication, lambda: repository.by_idempotency_key(connector_id, idempotency_key or "")
    )
    if not created:
        return publication, False
    audit.record(scope, "publication.created", "publication", publication.id,
                 {"connector": connector.name, "publish_at": publication.publish_at.isoformat()})  # fmt: skip
    if is_scheduled(publication, now):
        scope.defer(publish_job(scope.tenant_id, publication.id, at=publication.publish_at))
    elif defer_now:  # the page's caller does not wait: the workers send it at once
        scope.defer(publish_job(scope.tenant_id, publication.id))
    return publication, True


def is_scheduled(publication: Publication, now: datetime) -> bool:
    return publication.publish_at is not None and publication.publish_at > now + timedelta(
        seconds=1
    )


async def rules_of(scope: WorkspaceScope, connector_id: uuid.UUID) -> dict[str, Any]:
    """The target's content rules (its catalog entry's `publishing` block)."""
    connector = await _publisher(scope, connector_id)
    return connector.catalog.publishing or {}


@dataclass
class Claimed:
    catalog_key: str
    config: dict[str, Any]
    secrets: dict[str, Any]
    content: dict[str, Any]
    marker: str
    # An earlier attempt was cut short: find its post before anything is sent again.
    resolve: bool
    # Who the connector's last test signed in as: drivers need not ask again for each post.
    account: dict[str, Any] | None = None
    connector_id: uuid.UUID | None = None
    # An OAuth connector: its token is renewed ahead of expiry and once after a 401.
    renewable: bool = False


async def claim(
    scope: WorkspaceScope, box: SecretBox, publication_id: uuid.UUID, *, claimant: str,
    take_over: bool = False,
) -> Claimed | None:  # fmt: skip
    """Count an attempt and mark the publication sending, before the provider is called. None
    when there is nothing to do (ended, cancelled, not due, or already being sent here)."""
    publication = await PublicationRepository(scope).get_for_update(publication_id)
    if publication is None or PublicationStatus(publication.status).finished:
        return None
    resolve = False
    if publication.status == PublicationStatus.sending.value:
        # Only a retry of the attempt's own job (its worker died) or the restarted embedded
        # worker may pick it up, and then only to find out what the cut-short attempt did.
        retried = same_job(publication.claimed_by, claimant) and publication.claimed_by != claimant
        if not (take_over or retried):
            return None
        resolve = True
    elif publication.publish_at and publication.publish_at > utcnow() + timedelta(seconds=1):
        return None  # retried or queued early: its own job comes at its time
    resolve = resolve or publication.check_first
    connector = await ConnectorRepository(scope).get_with_catalog(publication.connector_id)
    assert connector is not None  # publications are deleted with their connector
    secrets, reason = await unreadable.auth_or_reason(scope, box, connector)
    if secrets is None:
        # No retry can help: it ends here, the connector in error. This attempt sends nothing;
        # one cut short before it may have posted, and without credentials nobody can ask.
        ended = PublicationStatus.unknown if resolve else PublicationStatus.failed
        publication.status, publication.claimed_by = ended.value, claimant
        publication.error_kind, publication.error = "unreadable", reason
        PublicationRepository(scope).touch(publication)
        await _emit_outcome(scope, publication)
        audit.record(scope, f"publication.{ended.value}", "publication", publication.id,
                     {"attempts": publication.attempts, "post_id": None})  # fmt: skip
        return None
    publication.status = PublicationStatus.sending.value
    publication.claimed_by = claimant
    publication.sent_at = publication.sent_at if resolve else utcnow()
    if not resolve:
        publication.attempts += 1
    return Claimed(
        catalog_key=connector.catalog.key, config=connector.config, secrets=secrets,
        content=publication.content, marker=marker(publication.id), resolve=resolve,
        account=connector.account, connector_id=connector.id, renewable=renewable(connector),
    )  # fmt: skip


def renewable(connector: Connector) -> bool:
    """Whether oauth/tokens keeps this connector's token alive (an OAuth entry)."""
    return connector.catalog.auth_type == "oauth" and bool(connector.catalog.oauth)


@dataclass
class Outcome:
    status: PublicationStatus
    post_id: str | None = None
    url: str | None = None
    error: str | None = None
    error_kind: str | None = None  # content | auth | retriable | unknown | unavailable
    retry_after: float | None = None
    # The next attempt looks the post up first (this one may have posted).
    check_first: bool = False


async def finish(
    scope: WorkspaceScope, publication_id: uuid.UUID, claimant: str, outcome: Outcome,
    *, max_attempts: int,
) -> tuple[Publication, Job | None] | None:  # fmt: skip
    """End the attempt `claimant` holds: published, failed, unknown, or back to scheduled for a
    retry at the provider's time (the job to queue is returned). None when the claim moved on."""
    repository = PublicationRepository(scope)
    publication = await repository.get_for_update(publication_id)
    if publication is None or publication.claimed_by != claimant:
        return None
    if publication.status != PublicationStatus.sending.value:
        return None
    now = utcnow()
    retry = None
    publication.error, publication.error_kind = outcome.error, outcome.error_kind
    publication.check_first = outcome.check_first
    if outcome.status == PublicationStatus.scheduled and publication.attempts < max_attempts:
        delay = outcome.retry_after
        if delay is None:
            delay = backoff_delay(publication.attempts, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS)
        publication.status = PublicationStatus.scheduled.value
        publication.publish_at = now + timedelta(seconds=min(delay, RETRY_CAP_SECONDS))
        retry = publish_job(scope.tenant_id, publication.id, at=publication.publish_at)
    elif outcome.status == PublicationStatus.scheduled:
        publication.status = PublicationStatus.failed.value
        publication.error = f"{outcome.error} (gave up after {publication.attempts} attempts)"
    else:
        publication.status = outcome.status.value
    if outcome.post_id is not None:  # published, or partly (a thread cut short)
        publication.provider_post_id, publication.url = outcome.post_id, outcome.url
    if outcome.status == PublicationStatus.published:
        publication.published_at = now
        if publication.publish_at is not None and publication.sent_at is not None:
            late = (publication.sent_at - publication.publish_at).total_seconds() * 1000
            publication.late_ms = round(late, 1) if late > 1000 else None
    repository.touch(publication)
    connector = await ConnectorRepository(scope).get_with_catalog(
        publication.connector_id, for_update=True
    )
    assert connector is not None
    if outcome.error_kind == "auth":
        await _credentials_refused(scope, connector, outcome.error or "")
    elif outcome.error_kind == "reconnect":
        pass  # the connector is in error already and its one notification says reconnect
    elif publication.status in (PublicationStatus.failed.value, PublicationStatus.unknown.value):
        await notifications.raise_(
            scope, kind=f"publication.{publication.status}", subject_id=publication.id,
            level=Level.error if publication.status == "unknown" else Level.warning,
            title=f"{connector.name}: publication {publication.status}",
            body=publication.error or "", link=f"/publications/{publication.id}",
        )  # fmt: skip
    await _emit_outcome(scope, publication)
    audit.record(scope, f"publication.{publication.status}", "publication", publication.id,
                 {"attempts": publication.attempts, "post_id": publication.provider_post_id})  # fmt: skip
    return publication, retry


async def _emit_outcome(scope: WorkspaceScope, publication: Publication) -> None:
    """`publication.published` or `publication.failed` for one that just ended so (its
    deliveries are queued after this transaction commits)."""
    if publication.status not in (PublicationStatus.published, PublicationStatus.failed):
        return
    await webhooks.emit(
        scope, webhooks.Event(f"publication.{publication.status}"),
        {
            "publication_id": str(publication.id), "connector_id": str(publication.connector_id),
            "status": publication.status, "provider_post_id": publication.provider_post_id,
            "url": publication.url, "attempts": publication.attempts,
            "error": publication.error, "error_kind": publication.error_kind,
        },
    )  # fmt: skip


async def _credentials_refused(scope: WorkspaceScope, connector: Connector, error: str) -> None:
    previous = connector.status
    connector.status = ConnectorStatus.error.value
    connector.status_reason = error[:500]
    ConnectorRepository(scope).touch(connector)
    await webhooks.connector_status_changed(scope, connector, previous)
    await notifications.raise_(
        scope, kind="connector.auth_failed", subject_id=connector.id, level=Level.error,
        title=f"{connector.name}: the credentials were refused",
        body=f"{error} The connector is now in error and will not publish until its "
        "credentials are fixed, it is tested and activated again.",
        link=f"/connectors/installed?search={quote(connector.name)}",
    )  # fmt: skip


@dataclass
class TestTarget:
    catalog_key: str
    config: dict[str, Any]
    secrets: dict[str, Any]
    renewable: bool = False


async def test_target(scope: WorkspaceScope, box: SecretBox, connector_id: uuid.UUID) -> TestTarget:
    """What a publisher's test needs. Raises NotFound, BadRequest (not a publisher),
    CredentialsUnreadable."""
    connector = await _publisher(scope, connector_id)
    secrets = await unreadable.open_auth(scope, box, connector)  # 409 when it does not decrypt
    return TestTarget(connector.catalog.key, connector.config, secrets, renewable(connector))


def _error_kind(error: DriverError) -> str:
    if isinstance(error, ReconnectNeeded):
        return "reconnect"
    return "auth" if isinstance(error, AuthFailed) else "provider"


async def record_test(
    scope: WorkspaceScope, connector_id: uuid.UUID, *, account: Account | None,
    error: DriverError | None,
) -> None:  # fmt: skip
    """Keep a publisher test's outcome: the account identity on success; refused credentials
    set the connector to error and notify."""
    connector = await ConnectorRepository(scope).get_with_catalog(connector_id, for_update=True)
    if connector is None:
        raise NotFound("connector not found")
    connector.last_test = {
        "ok": error is None, "tested_at": utcnow().isoformat(),
        "error": error.message if error else None,
        "error_kind": _error_kind(error) if error else None,
    }  # fmt: skip
    if account is not None:
        connector.account = account.to_json()
    if isinstance(error, AuthFailed) and not isinstance(error, ReconnectNeeded):
        connector.account = None  # (a dead grant was marked, and notified, where it was found)
        await _credentials_refused(scope, connector, error.message)
    ConnectorRepository(scope).touch(connector)


async def read(scope: WorkspaceScope, publication_id: uuid.UUID) -> Publication:
    """Raises NotFound (also for another workspace's publication)."""
    publication = await PublicationRepository(scope).get(publication_id)
    if publication is None:
        raise NotFound("publication not found")
    return publication


async def search(
    scope: WorkspaceScope, *, connector_id: uuid.UUID | None = None, status: str | None = None,
    since: datetime | None = None, until: datetime | None = None, page: int = 1,
    page_size: int = 50,
) -> Page[Publication]:  # fmt: skip
    return await PublicationRepository(scope).search(
        connector_id=connector_id, status=status, since=since, until=until,
        page=page, page_size=page_size,
    )  # fmt: skip


async def cancel(scope: WorkspaceScope, publication_id: uuid.UUID) -> Publication:
    """Only a scheduled publication can be cancelled. Raises NotFound, Conflict."""
    repository = PublicationRepository(scope)
    publication = await repository.get_for_update(publication_id)
    if publication is None:
        raise NotFound("publication not found")
    if publication.status != PublicationStatus.scheduled.value:
        raise Conflict(
            f"only a scheduled publication can be cancelled; this one is {publication.status}"
        )
    publication.status = PublicationStatus.cancelled.value
    repository.touch(publication)
    audit.record(scope, "publication.cancelled", "publication", publication.id, {})
    return publication


async def retry(scope: WorkspaceScope, publication_id: uuid.UUID) -> Publication:
    """A failed publication, or an `unknown` one the user has checked, goes out again now (its
    job after the commit). Raises NotFound, Conflict (not failed or unknown, part of it already
    out, or its connector is not active)."""
    repository = PublicationRepository(scope)
    publication = await repository.get_for_update(publication_id)
    if publication is None:
        raise NotFound("publication not found")
    if publication.status not in (PublicationStatus.failed.value, PublicationStatus.unknown.value):
        raise Conflict(
            f"only a failed or unknown publication can be retried; this one is {publication.status}"
        )
    if publication.provider_post_id:
        raise Conflict("part of this publication is already out: sending it again would repeat it")
    connector = await _publisher(scope, publication.connector_id)
    if connector.status != ConnectorStatus.active.value:
        raise Conflict(f"the connector is {connector.status}: fix and activate it first")
    publication.status = PublicationStatus.scheduled.value
    publication.publish_at, publication.error, publication.error_kind = utcnow(), None, None
    publication.check_first = False  # asked for by the user, who checked the account
    repository.touch(publication)
    audit.record(scope, "publication.retried", "publication", publication.id, {})
    scope.defer(publish_job(scope.tenant_id, publication.id))
    return publication


async def read_now(work: UnitOfWork, tenant_id: str, publication_id: uuid.UUID) -> Publication:
    """The publication as committed now, in a short transaction of its own. Raises NotFound."""
    async with work.workspace(tenant_id, None) as scope:
        return await read(scope, publication_id)


def _under_way(publication: Publication) -> bool:
    """Being sent, or due now and about to be (not scheduled for later)."""
    return publication.status == PublicationStatus.sending.value or (
        publication.status == PublicationStatus.scheduled.value
        and not is_scheduled(publication, utcnow())
    )


async def wait_for_outcome(
    work: UnitOfWork, tenant_id: str, publication_id: uuid.UUID, *, seconds: float
) -> Publication:
    """The publication once it is not under way (or as it is after `seconds`): what a repeated
    request answers while the first one is still posting."""
    return await poll_until(
        lambda: read_now(work, tenant_id, publication_id),
        lambda publication: not _under_way(publication),
        seconds=seconds,
    )
