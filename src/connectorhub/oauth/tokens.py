"""Keeping tokens alive: every use of an OAuth token goes through `usable`, which renews it
ahead of expiry (or after the provider refused it), once however many want it at the same
moment, in this process or any other.

The order matters: the in-process lock first (the other tasks of this process wait on it for
free), then the cross-process lock (db.UnitOfWork.exclusive), then the token is read again —
another process may have renewed it while we waited, and then it is used as it is. The new
access token and a rotated refresh token are sealed in one transaction: a refresh token the
provider has already spent is never the only one kept."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from connectorhub.catalog.models import CatalogEntry
from connectorhub.catalog.repository import CatalogRepository
from connectorhub.config import Settings
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.unreadable import mark_unreadable, reason_for
from connectorhub.credential.models import WorkspaceApiCredential
from connectorhub.db import UnitOfWork, WorkspaceScope
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.driver_errors import (
    AuthFailed,
    DriverError,
    FatalError,
    RetriableError,
    SecretsUnreadableError,
)
from connectorhub.kit.models import utcnow
from connectorhub.kit.outbound import Outbound, backoff_delay
from connectorhub.kit.sealing import SecretsUnreadable, merge_secrets, open_secrets
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.oauth import client
from connectorhub.oauth.grant import RECONNECT, TokenSet, grant_facts, is_dead, is_due, parse
from connectorhub.oauth.providers import Provider, provider_of
from connectorhub.oauth.repository import (
    CredentialHolderRepository,
    TokenHolderRepository,
)
from connectorhub.webhook import events as webhooks

log = logging.getLogger(__name__)
T = TypeVar("T")
ACTOR = "oauth"
RECONNECT_REASON = "reconnect needed"

# What this process's last look at a token found stays good for the tasks queued behind it this
# long; after a failed renewal, they do not ask the token endpoint again sooner than this.
HANDOFF_SECONDS = 30.0


@dataclass(eq=False)
class _Flight:
    """One token's renewals in this process: the lock its tasks queue on, and what the task
    before found (the token it renewed or read), so a crowd of tasks needs one renewal and one
    cross-process lock, not one each in turn."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    found: Held | None = None
    found_at: float = 0.0
    failure: DriverError | None = None
    failed_at: float = 0.0

    def keep(self, held: Held) -> Held:
        self.found, self.found_at = held, time.monotonic()
        return held

    def recent(self) -> Held | None:
        fresh = time.monotonic() - self.found_at < HANDOFF_SECONDS
        return self.found if fresh else None

    def recent_failure(self) -> DriverError | None:
        fresh = time.monotonic() - self.failed_at < HANDOFF_SECONDS
        return self.failure if fresh else None


_flights: weakref.WeakValueDictionary[str, _Flight] = weakref.WeakValueDictionary()


class ReconnectNeeded(AuthFailed):
    """The grant is dead (revoked, or expired with no way to renew it): only Connect helps."""


@dataclass(frozen=True)
class Holder:
    """Which row holds a token: a connector's `auth`, or an oauth2 workspace credential."""

    kind: str  # connector | credential
    id: uuid.UUID

    @classmethod
    def connector(cls, connector_id: uuid.UUID) -> Holder:
        return cls("connector", connector_id)

    @classmethod
    def credential(cls, credential_id: uuid.UUID) -> Holder:
        return cls("credential", credential_id)

    @property
    def table(self) -> str:
        if self.kind == "connector":
            return Connector.__tablename__
        return WorkspaceApiCredential.__tablename__


@dataclass(frozen=True)
class TokenKeeper:
    """What keeping tokens needs (a job's context has all of it)."""

    work: UnitOfWork
    box: SecretBox
    outbound: Outbound
    settings: Settings

    @classmethod
    def of(cls, context: Any) -> TokenKeeper:
        return cls(context.work, context.box, context.outbound, context.settings)

    @property
    def ahead(self) -> timedelta:
        return timedelta(seconds=self.settings.oauth_refresh_ahead_seconds)


@dataclass
class Held:
    """A token as stored now."""

    holder: Holder
    row: Connector | WorkspaceApiCredential
    entry: CatalogEntry | None
    secrets: dict[str, str]

    @property
    def facts(self) -> dict[str, Any]:
        return dict(self.row.oauth or {})

    @property
    def name(self) -> str:
        return self.row.name


async def load(scope: WorkspaceScope, box: SecretBox, holder: Holder) -> Held | None:
    row: Connector | WorkspaceApiCredential | None
    if holder.kind == "connector":
        row = await TokenHolderRepository(scope).get_with_catalog(holder.id)
        entry = row.catalog if row is not None else None
        sealed = row.auth if row is not None else {}
    else:
        row = await CredentialHolderRepository(scope).get(holder.id)
        entry = (await CatalogRepository(scope.session).by_key(row.provider)
                 if row and row.provider else None)  # fmt: skip
        sealed = row.secret if row is not None else {}
    if row is None:
        return None
    try:
        secrets = open_secrets(
            box, tenant_id=scope.tenant_id, table=holder.table, row_id=holder.id, stored=sealed
        )
    except SecretsUnreadable as error:
        if isinstance(row, Connector):
            raise SecretsUnreadableError(await mark_unreadable(scope, row, error)) from None
        raise SecretsUnreadableError(
            f"workspace credential {row.name!r}: {reason_for(error)}; re-enter it under "
            "Settings → Credentials"
        ) from None
    return Held(holder, row, entry, secrets)


def _expires_at(held: Held) -> datetime | None:
    if held.row.token_expires_at is not None:
        return held.row.token_expires_at
    return parse(held.secrets.get("expires_at"))  # pasted tokens say it in the auth field


def _needs_renewal(held: Held, refused: str | None, now: datetime, ahead: timedelta) -> bool:
    if refused is not None:
        return held.secrets.get("access_token") == refused  # else renewed meanwhile
    return is_due(held.facts, _expires_at(held), now, ahead)


def store_tokens(
    scope: WorkspaceScope,
    box: SecretBox,
    held: Held,
    tokens: TokenSet,
    *,
    connected: dict[str, Any] | None = None,
    scopes_asked: tuple[str, ...] = (),
) -> None:
    """Seal a token answer on its holder. A refresh answer without a refresh token keeps the
    old one; `connected` (who, when) marks a new grant rather than a renewal."""
    now = utcnow()
    incoming: dict[str, Any] = {
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
    }
    if tokens.refresh_token:
        incoming["refresh_token"] = tokens.refresh_token
    elif connected is not None:
        incoming["refresh_token"] = None  # a new grant without one: the old grant's is void
    row = held.row
    stored = row.auth if isinstance(row, Connector) else row.secret
    sealed, _ = merge_secrets(
        box,
        tenant_id=scope.tenant_id,
        table=held.holder.table,
        row_id=held.holder.id,
        stored=stored,
        incoming=incoming,
    )
    facts = grant_facts(
        tokens, now, earlier=None if connected else held.facts, scopes_asked=scopes_asked
    )
    if connected is not None:
        facts.update(connected)
    else:
        facts["refreshed_at"] = now.isoformat()
    if isinstance(row, Connector):
        row.auth = sealed
        TokenHolderRepository(scope).touch(row)
    else:
        row.secret = sealed
        CredentialHolderRepository(scope).touch(row)
    row.oauth, row.token_expires_at = facts, tokens.expires_at
    held.secrets = {**held.secrets, **{k: v for k, v in incoming.items() if v}}


async def _declare_dead(scope: WorkspaceScope, held: Held, why: str) -> None:
    """No more refresh attempts until reconnected; the connector goes to error; one
    notification, with a link straight to Connect."""
    facts = held.facts
    if facts.get("state") == RECONNECT:
        return
    held.row.oauth = {
        **facts,
        "state": RECONNECT,
        "reason": why[:300],
        "dead_at": utcnow().isoformat(),
    }
    what = "connector" if held.holder.kind == "connector" else "credential"
    if isinstance(held.row, Connector):
        previous = held.row.status
        held.row.status = ConnectorStatus.error.value
        held.row.status_reason = f"{RECONNECT_REASON}: {why}"[:500]
        await webhooks.connector_status_changed(scope, held.row, previous)
        TokenHolderRepository(scope).touch(held.row)
    else:
        CredentialHolderRepository(scope).touch(held.row)
    provider = (
        held.entry.oauth.get("provider_name") if held.entry and held.entry.oauth else "the provider"
    )
    await notifications.raise_(
        scope,
        kind="oauth.reconnect_needed",
        subject_id=held.holder.id,
        level=Level.error,
        title=f"{held.name}: reconnect needed",
        body=f"{why} The {what} stops using this connection until you connect it to "
        f"{provider} again.",
        link=f"/oauth/connect/{held.holder.kind}/{held.holder.id}",
    )
    log.warning("%s %s in %s: grant dead (%s)", what, held.holder.id, scope.tenant_id, why)


def provider_for(held: Held, settings: Settings) -> Provider | None:
    """The holder's provider; a client pair pasted with the tokens (their own app's) wins over
    the operator's: a refresh token only works with the client it was issued to."""
    provider = provider_of(held.entry, settings) if held.entry is not None else None
    if provider is not None and held.secrets.get("client_id"):
        own_secret = held.secrets.get("client_secret")
        provider = replace(provider, client_id=held.secrets["client_id"], client_secret=own_secret)
    return provider


# A token endpoint that stumbles gets two more tries, a moment apart, before a caller is told.
REFRESH_TRIES = 3
REFRESH_BACKOFF_SECONDS = 0.5
REFRESH_WAIT_CAP_SECONDS = 5.0


async def _refresh_with_retries(
    keeper: TokenKeeper, provider: Provider, refresh_token: str
) -> TokenSet:
    """Raises GrantRevoked and FatalError at once; RetriableError after REFRESH_TRIES."""
    for attempt in range(1, REFRESH_TRIES + 1):
        try:
            return await client.refresh(keeper.outbound, provider, refresh_token)
        except RetriableError as trouble:
            if attempt == REFRESH_TRIES or (trouble.retry_after or 0) > REFRESH_WAIT_CAP_SECONDS:
                raise
            wait = trouble.retry_after or backoff_delay(attempt, REFRESH_BACKOFF_SECONDS,
                                                        REFRESH_WAIT_CAP_SECONDS)  # fmt: skip
            await asyncio.sleep(min(wait, REFRESH_WAIT_CAP_SECONDS))
    raise AssertionError("unreachable")  # pragma: no cover


def _same_grant(fresh: Held, refresh_token: str) -> bool:
    """Still the grant this renewal started from (not reconnected or pasted over meanwhile)."""
    return fresh.secrets.get("refresh_token") == refresh_token


async def _read(keeper: TokenKeeper, tenant_id: str, holder: Holder) -> Held:
    async with keeper.work.workspace(tenant_id, ACTOR) as scope:
        held = await load(scope, keeper.box, holder)
    if held is None:
        raise FatalError(f"the {holder.kind} holding this token was deleted")
    return held


async def usable(
    keeper: TokenKeeper,
    tenant_id: str,
    holder: Holder,
    *,
    refused: str | None = None,
    horizon: timedelta = timedelta(0),
) -> dict[str, str]:
    """The holder's secrets with an access token fit to use now: renewed first when it is
    due, or when `refused` (the access token a provider just answered 401 to) is still the
    stored one; `horizon`: renewed if it will be due by then (the periodic job's next look).
    Raises ReconnectNeeded (a dead grant; the holder is marked and notified),
    RetriableError (the token endpoint is down and the token cannot be used meanwhile),
    FatalError."""
    now = utcnow()
    held = await _read(keeper, tenant_id, holder)
    if is_dead(held.facts):
        raise ReconnectNeeded(
            f"{RECONNECT_REASON}: {held.facts.get('reason', 'the grant is dead')}"
        )
    if not _needs_renewal(held, refused, now + horizon, keeper.ahead):
        return held.secrets
    name = f"oauth-token:{holder.table}:{holder.id}"
    flight = _flights.get(name)
    if flight is None:
        flight = _flights[name] = _Flight()
    async with flight.lock:
        if (found := flight.recent()) is not None:  # the task before us just looked
            if is_dead(found.facts):
                raise ReconnectNeeded(f"{RECONNECT_REASON}: {found.facts.get('reason', '')}")
            if not _needs_renewal(found, refused, utcnow() + horizon, keeper.ahead):
                return found.secrets
            if (failure := flight.recent_failure()) is not None:
                # Its renewal just failed: the token endpoint is not asked again at once.
                if _still_good(found, refused):
                    return found.secrets
                if isinstance(failure, RetriableError):
                    raise RetriableError(failure.message, retry_after=HANDOFF_SECONDS)
                raise FatalError(failure.message)
        async with keeper.work.exclusive(name):
            held = flight.keep(
                await _read(keeper, tenant_id, holder)
            )  # another process may have renewed it
            if is_dead(held.facts):
                raise ReconnectNeeded(f"{RECONNECT_REASON}: {held.facts.get('reason', '')}")
            if not _needs_renewal(held, refused, utcnow() + horizon, keeper.ahead):
                return held.secrets
            return flight.keep(
                await _renew(keeper, tenant_id, held, refused=refused, flight=flight)
            ).secrets


def _still_good(held: Held, refused: str | None) -> bool:
    """Usable as it is: not refused, and not expired (as far as ConnectorHub knows)."""
    expires_at = _expires_at(held)
    return refused is None and (expires_at is None or expires_at > utcnow())


async def _end_grant(keeper: TokenKeeper, tenant_id: str, held: Held, why: str, *,
                     refresh_token: str | None) -> Held | None:  # fmt: skip
    """Declare the grant dead, unless (`refresh_token` given) the holder has another grant by
    now: that one is returned instead."""
    async with keeper.work.workspace(tenant_id, ACTOR) as scope:
        fresh = await load(scope, keeper.box, held.holder)
        if fresh is None:
            return None
        if refresh_token is not None and not _same_grant(fresh, refresh_token):
            return fresh
        await _declare_dead(scope, fresh, why + ".")
    return None


async def _renew(
    keeper: TokenKeeper, tenant_id: str, held: Held, *, refused: str | None, flight: _Flight
) -> Held:
    still_good = _still_good(held, refused)
    provider = provider_for(held, keeper.settings)
    refresh_token = held.secrets.get("refresh_token")
    if provider is None or not provider.configured or not refresh_token:
        if still_good:
            return held  # nothing can renew it yet; the job warns ahead of its end
        why = "the provider refused the access token" if refused else "the access token expired"
        why += (
            " and there is no refresh token to renew it"
            if not refresh_token
            else " and no OAuth app is configured to renew it"
        )
        if provider is not None and not refresh_token and held.facts.get("connected_at"):
            # A connected grant nothing can renew is over; pasted tokens just stay refused.
            await _end_grant(keeper, tenant_id, held, why, refresh_token=None)
            raise ReconnectNeeded(f"{RECONNECT_REASON}: {why}")
        raise AuthFailed(why)
    try:
        tokens = await _refresh_with_retries(keeper, provider, refresh_token)
    except client.GrantRevoked as dead:
        fresh = await _end_grant(keeper, tenant_id, held, dead.message, refresh_token=refresh_token)
        if fresh is not None:
            return fresh  # reconnected (or pasted over) while this one was refused
        raise ReconnectNeeded(f"{RECONNECT_REASON}: {dead.message}") from None
    except (RetriableError, FatalError) as trouble:
        flight.failure, flight.failed_at = trouble, time.monotonic()
        await _count_failure(keeper, tenant_id, held.holder, trouble)
        if still_good:  # whatever went wrong with the renewal, this token still works
            log.warning(
                "refreshing %s %s failed, its token is still good: %s",
                held.holder.kind,
                held.holder.id,
                trouble.message,
            )
            return held
        raise
    async with keeper.work.workspace(tenant_id, ACTOR) as scope:
        fresh = await load(scope, keeper.box, held.holder)
        if fresh is None:
            raise FatalError(f"the {held.holder.kind} holding this token was deleted")
        if not _same_grant(fresh, refresh_token):
            return fresh  # reconnected meanwhile: the new grant's tokens stay
        store_tokens(scope, keeper.box, fresh, tokens)
    log.info("renewed the token of %s %s in %s", held.holder.kind, held.holder.id, tenant_id)
    flight.failure = None
    return fresh


async def _count_failure(
    keeper: TokenKeeper, tenant_id: str, holder: Holder, trouble: Exception
) -> None:
    async with keeper.work.workspace(tenant_id, ACTOR) as scope:
        held = await load(scope, keeper.box, holder)
        if held is None:
            return
        facts = held.facts
        facts["refresh_failures"] = int(facts.get("refresh_failures", 0)) + 1
        facts["last_refresh_error"] = str(getattr(trouble, "message", trouble))[:300]
        held.row.oauth = facts


def connect_link(holder: Holder) -> str:
    return f"/oauth/connect/{holder.kind}/{quote(str(holder.id))}"


async def call_with_token(keeper: TokenKeeper, tenant_id: str, holder: Holder,
                          use: Callable[[dict[str, str]], Awaitable[T]]) -> T:  # fmt: skip
    """`use(secrets)` with a token renewed ahead of expiry; when the provider refuses it
    (AuthFailed: a 401), one renewal and one more try — a second refusal stands."""
    secrets = await usable(keeper, tenant_id, holder)
    try:
        return await use(secrets)
    except ReconnectNeeded:
        raise
    except AuthFailed as refusal:
        refused = secrets.get("access_token")
        log.info("%s %s: the provider refused its token; renewing once", holder.kind, holder.id)
        try:
            secrets = await usable(keeper, tenant_id, holder, refused=refused)
        except ReconnectNeeded:
            raise
        except AuthFailed:
            raise refusal from None  # nothing could renew it: the provider's words stand
        return await use(secrets)
