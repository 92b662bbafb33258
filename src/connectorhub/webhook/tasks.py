"""Sending a webhook delivery: signed, through the SSRF-guarded outbound session, retried with
backoff (a 429/503's `Retry-After` honoured), each attempt's outcome in the delivery log."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from connectorhub.kit.models import utcnow
from connectorhub.kit.outbound import backoff_delay, retry_after_seconds
from connectorhub.kit.sealing import SecretsUnreadable, open_secrets
from connectorhub.kit.ssrf import BlockedAddress
from connectorhub.webhook import signing
from connectorhub.webhook.events import delivery_job
from connectorhub.webhook.models import DeliveryStatus, Webhook
from connectorhub.webhook.repository import DeliveryRepository, WebhookRepository
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import job, periodic

log = logging.getLogger(__name__)
WORKER_ACTOR = "worker"
TIMEOUT_SECONDS = 10
MAX_WAIT_SECONDS = 3600.0
# A pending delivery this long past its time lost its job (a restart, say): queued again.
LOST_AFTER = timedelta(minutes=2)
RETRY_AFTER_STATUSES = (429, 503)


@dataclass
class Attempt:
    code: int | None = None
    error: str | None = None
    retriable: bool = False
    retry_after: float | None = None
    ms: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


async def _send(ctx: JobContext, url: str, headers: dict[str, str], body: bytes) -> Attempt:
    started = time.monotonic()
    attempt = Attempt()
    try:
        ctx.outbound.policy.check_url(url)  # IP literals; names are checked as they resolve
        async with ctx.outbound.session.post(
            url, data=body, headers=headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
        ) as response:  # fmt: skip
            await response.content.read(4096)  # what receivers answer is not kept
            attempt.code = response.status
            if not attempt.succeeded:
                attempt.error = f"the receiver answered {response.status} {response.reason or ''}"
                attempt.retriable = response.status >= 500 or response.status in (408, 429)
                if response.status in RETRY_AFTER_STATUSES:
                    attempt.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    except BlockedAddress as refused:
        attempt.error = str(refused)  # the receiver is not allowed: retrying will not help
    except aiohttp.InvalidURL as error:
        attempt.error = f"invalid URL: {error}"
    except aiohttp.ClientConnectorError as error:
        cause = error.os_error
        if isinstance(cause, BlockedAddress):
            attempt.error = str(cause)
        else:
            attempt.error, attempt.retriable = f"could not connect: {cause or error}", True
    except (aiohttp.ClientError, TimeoutError) as error:
        attempt.error = f"{type(error).__name__}: {error}".rstrip(": ")
        attempt.retriable = True
    attempt.ms = round((time.monotonic() - started) * 1000, 2)
    return attempt


def _headers(secret: str, delivery_id: uuid.UUID, event: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        signing.TIMESTAMP_HEADER: timestamp,
        signing.SIGNATURE_HEADER: signing.signature(secret, timestamp, body),
        signing.EVENT_HEADER: event,
        signing.DELIVERY_HEADER: str(delivery_id),
    }


@job
async def deliver_webhook(ctx: JobContext, tenant_id: str, delivery_id: str) -> None:
    """One attempt at a pending delivery; a retriable failure queues the next one."""
    delivery_uuid = uuid.UUID(delivery_id)
    async with ctx.work.workspace(tenant_id, WORKER_ACTOR) as scope:
        delivery = await DeliveryRepository(scope).get(delivery_uuid)
        if delivery is None or delivery.status != DeliveryStatus.pending.value:
            return
        webhook = await WebhookRepository(scope).get(delivery.webhook_id)
        if webhook is None:
            return
        url, event = webhook.url, delivery.event
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        try:
            secret = open_secrets(
                ctx.box, tenant_id=tenant_id, table=Webhook.__tablename__, row_id=webhook.id,
                stored=webhook.sealed,
            )["secret"]  # fmt: skip
        except (SecretsUnreadable, KeyError):
            secret = None
    if secret is None:
        result = Attempt(error="the webhook's signing secret cannot be decrypted: delete it and "
                         "register it again")  # fmt: skip
    else:
        headers = _headers(secret, delivery_uuid, event, body)
        result = await _send(ctx, url, headers, body)
    await _record(ctx, tenant_id, delivery_uuid, result)


async def _record(ctx: JobContext, tenant_id: str, delivery_id: uuid.UUID, result: Attempt) -> None:
    settings = ctx.settings
    async with ctx.work.workspace(tenant_id, WORKER_ACTOR) as scope:
        repository = DeliveryRepository(scope)
        delivery = await repository.get_for_update(delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.pending.value:
            return
        now = utcnow()
        delivery.attempt += 1
        delivery.response_code, delivery.error = result.code, result.error
        delivery.duration_ms, delivery.next_attempt_at = result.ms, None
        if result.succeeded:
            delivery.status, delivery.delivered_at = DeliveryStatus.succeeded.value, now
        elif result.retriable and delivery.attempt < settings.webhook_max_attempts:
            wait = backoff_delay(delivery.attempt, settings.webhook_retry_seconds, MAX_WAIT_SECONDS)
            if result.retry_after is not None:
                wait = min(result.retry_after, MAX_WAIT_SECONDS)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            scope.defer(delivery_job(tenant_id, delivery.id, at=delivery.next_attempt_at))
        else:
            delivery.status = DeliveryStatus.failed.value
        repository.touch(delivery)
    if result.error:
        log.info("webhook delivery %s in %s: %s", delivery_id, tenant_id, result.error)


@periodic(cron="* * * * *", embedded=True)
async def requeue_lost_webhook_deliveries(ctx: JobContext) -> int:
    """Queue again the pending deliveries whose attempt is long overdue: the embedded
    default keeps a delayed retry in memory only, and a job can be lost between a commit and
    the queue. One that does run twice finds its delivery no longer pending after the first."""
    cutoff = utcnow() - LOST_AFTER

    async def requeue(scope) -> int:
        lost = await DeliveryRepository(scope).lost(cutoff)
        for delivery_id in lost:
            scope.defer(delivery_job(scope.tenant_id, delivery_id))
        return len(lost)

    return sum((await ctx.work.for_each_workspace(WORKER_ACTOR, requeue, keep_going=True)).values())
