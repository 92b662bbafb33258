"""Connecting an account: the authorize redirect (a single-use state bound to who asked, the
workspace and the connector or credential, and a PKCE S256 challenge), and the callback that
checks it all, exchanges the code, checks the granted scopes, looks the account up and seals
the tokens. Any refusal stores nothing and says what happened and what to do."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from connectorhub.audit import service as audit
from connectorhub.catalog.models import CatalogEntry
from connectorhub.config import Settings
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.db import UnitOfWork, WorkspaceScope
from connectorhub.exceptions import BadRequest, Conflict, NotFound
from connectorhub.kit.crypto import DecryptionError, SecretBox
from connectorhub.kit.driver_errors import DriverError
from connectorhub.kit.models import utcnow
from connectorhub.kit.outbound import Outbound
from connectorhub.kit.sealing import associated_data
from connectorhub.kit.ssrf import BlockedAddress
from connectorhub.oauth import client
from connectorhub.oauth.grant import TokenSet
from connectorhub.oauth.models import OAuthState
from connectorhub.oauth.providers import CallbackBase, Provider, provider_of
from connectorhub.oauth.repository import OAuthStateRepository, state_by_hash
from connectorhub.oauth.schemas import ProviderRead
from connectorhub.oauth.tokens import RECONNECT_REASON, Holder, TokenKeeper, load, store_tokens
from connectorhub.tenant.models import Role
from connectorhub.tenant.repository import MembershipRepository

STATE_LIFETIME = timedelta(minutes=10)
ACTOR = "oauth"


class ConnectRefused(BadRequest):
    """The callback cannot connect anything; `advice` says what the user can do."""

    def __init__(self, title: str, message: str, advice: str):
        super().__init__(message)
        self.title, self.advice = title, advice

    def to_json(self) -> dict[str, Any]:
        return {"detail": self.message, "title": self.title, "advice": self.advice}


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class Started:
    authorize_url: str
    callback_url: str
    expires_at: Any


def provider_or_refusal(entry: CatalogEntry | None, settings: Settings, what: str) -> Provider:
    """Raises BadRequest (the entry has no OAuth connect), Conflict (no app configured)."""
    provider = provider_of(entry, settings) if entry is not None else None
    if provider is None:
        raise BadRequest(f"this {what} cannot be connected with OAuth: paste its tokens instead")
    if not provider.configured:
        raise Conflict(
            f"no OAuth app is configured for {provider.name}: an operator sets "
            f"CONNECTORHUB_OAUTH_{provider.key.upper()}_CLIENT_ID and _CLIENT_SECRET "
            "(see the OAuth apps page)"
        )
    return provider


async def start(
    scope: WorkspaceScope,
    box: SecretBox,
    settings: Settings,
    holder: Holder,
    *,
    user_id: uuid.UUID,
    web_session_id: uuid.UUID | None,
    callback: CallbackBase,
) -> Started:
    """Where to send the browser. Raises NotFound, BadRequest, Conflict."""
    held = await load(scope, box, holder)
    if held is None:
        raise NotFound(f"{holder.kind} not found")
    provider = provider_or_refusal(held.entry, settings, holder.kind)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if provider.pkce else None
    row = OAuthState(
        id=uuid.uuid4(),
        state_hash=_hash(state),
        user_id=user_id,
        web_session_id=web_session_id,
        target_kind=holder.kind,
        target_id=holder.id,
        provider=provider.key,
        redirect_uri=callback.url,
        expires_at=utcnow() + STATE_LIFETIME,
    )
    if verifier is not None:
        row.code_verifier = box.seal(
            verifier,
            associated_data(scope.tenant_id, OAuthState.__tablename__, row.id, "code_verifier"),
        )
    repository = OAuthStateRepository(scope)
    await repository.forget_expired(utcnow() - timedelta(days=1))
    repository.add(row)
    params = {
        "response_type": "code",
        "client_id": provider.client_id or "",
        "redirect_uri": callback.url,
        "scope": provider.scope_separator.join(provider.scopes),
        "state": state,
        **provider.authorize_params,
    }
    if verifier is not None:
        params |= {"code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
    audit.record(
        scope, f"{holder.kind}.oauth_started", holder.kind, holder.id, {"provider": provider.key}
    )
    return Started(_with_query(provider.authorize_url, params), callback.url, row.expires_at)


@dataclass(frozen=True)
class Connected:
    tenant_id: str
    holder: Holder
    name: str
    provider: str
    account: dict[str, Any] | None
    activated: bool


REFUSED_ADVICE = "Nothing was stored. Go back to the connector and press Connect again."


async def _consume(
    work: UnitOfWork,
    box: SecretBox,
    state: str,
    *,
    user_id: uuid.UUID,
    web_session_id: uuid.UUID | None,
) -> tuple[OAuthState, str | None]:
    """Burn the state (in its own transaction: whatever happens next, it is spent) and check
    it is this browser's. Returns it and its PKCE verifier. Raises ConnectRefused."""
    async with work.transaction() as session:
        found = await state_by_hash(session, _hash(state))
    if found is None:
        raise ConnectRefused(
            "Unknown sign-in",
            "This connection attempt is unknown to "
            "ConnectorHub (the link was altered, or it is from another server).",
            REFUSED_ADVICE,
        )
    async with work.workspace(found.tenant_id, str(user_id)) as scope:
        row = await OAuthStateRepository(scope).get_for_update(found.id)
        if row is None or row.used_at is not None:
            raise ConnectRefused(
                "Already used",
                "This connection attempt was already completed "
                "or refused: each one can be used once.",
                REFUSED_ADVICE,
            )
        row.used_at = utcnow()
        OAuthStateRepository(scope).touch(row)
        membership = await MembershipRepository(scope).by_user(user_id)
        # Still allowed to change connectors there (removed or demoted since: refused).
        allowed = membership is not None and Role(membership.role).at_least(Role.admin)
        aad = associated_data(scope.tenant_id, OAuthState.__tablename__, row.id, "code_verifier")
        try:
            verifier = box.open(row.code_verifier, aad) if row.code_verifier else None
        except DecryptionError:
            # Sealed under a key removed since (a rotation within these ten minutes).
            verifier, expired = None, True
        else:
            expired = row.expires_at < utcnow()
    if not allowed and row.user_id == user_id:
        raise ConnectRefused(
            "Not allowed",
            "You are no longer an admin of the workspace this connection was started in.",
            "Nothing was stored. Ask an admin of that workspace to connect it.",
        )
    if row.user_id != user_id or (
        row.web_session_id is not None and row.web_session_id != web_session_id
    ):
        raise ConnectRefused(
            "Started elsewhere",
            "This connection attempt was started by another user or in another browser session.",
            "Sign in as the user who pressed Connect, or press Connect again here.",
        )
    if expired:
        raise ConnectRefused(
            "Expired",
            "This connection attempt is more than "
            f"{int(STATE_LIFETIME.total_seconds() // 60)} minutes old.",
            REFUSED_ADVICE,
        )
    return row, verifier


def _dig(answer: Any, path: str | None) -> str | None:
    value = answer
    for part in (path or "").split("."):
        if not part:
            continue
        value = value.get(part) if isinstance(value, dict) else None
    return str(value) if value not in (None, "") else None


async def _identity(
    outbound: Outbound, settings: Settings, provider: Provider, tokens: TokenSet
) -> dict[str, Any] | None:
    """Who connected, per the entry's `identity` block. Raises DriverError."""
    spec = provider.identity
    if spec["source"] == "token_response":
        answer: Any = tokens.extra
    else:
        url = spec["url"]
        if url.startswith("{"):
            setting, rest = url[1:].split("}", 1)
            url = str(getattr(settings, setting)).rstrip("/") + rest
        try:
            outbound.policy.check_url(url)
        except BlockedAddress as error:
            raise DriverError(f"{provider.name}'s account lookup: {error}") from None
        try:
            async with outbound.session.get(
                url,
                headers={
                    "Authorization": f"Bearer {tokens.access_token}",
                    "Accept": "application/json",
                },
                timeout=aiohttp.ClientTimeout(total=30),
                allow_redirects=False,
            ) as reply:
                body = await reply.read()
                if reply.status != 200:
                    raise DriverError(
                        f"{provider.name} answered {reply.status} to the account lookup: "
                        f"{body[:200].decode('utf-8', 'replace')}"
                    )
        except aiohttp.ClientError as error:
            raise DriverError(
                f"could not look the account up at {provider.name}: {error}"
            ) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise DriverError(
                f"{provider.name}'s account lookup answered something other than JSON"
            ) from None
    account_id = _dig(answer, spec.get("id"))
    if account_id is None:
        return None
    account_id = spec.get("id_prefix", "") + account_id
    return {
        "id": account_id,
        "name": _dig(answer, spec.get("name")) or account_id,
        "handle": _dig(answer, spec.get("handle")),
    }


def _refused_at_provider(error: str, description: str | None, provider: str) -> ConnectRefused:
    if error == "access_denied":
        return ConnectRefused(
            "Access declined",
            f"Access was declined at {provider}.",
            "Nothing was stored. Press Connect again and approve the access "
            "asked for, if you want ConnectorHub to use this account.",
        )
    said = f"{error}: {description}" if description else error
    return ConnectRefused(
        f"{provider} refused",
        f"{provider} refused the request ({said}).",
        "Nothing was stored. An operator may need to check the OAuth app's "
        "settings (its callback URL and scopes) on the OAuth apps page.",
    )


async def finish(
    keeper: TokenKeeper,
    *,
    params: dict[str, str],
    user_id: uuid.UUID,
    web_session_id: uuid.UUID | None,
) -> Connected:
    """The callback. Raises ConnectRefused."""
    state = params.get("state") or ""
    if not state:
        raise ConnectRefused(
            "No state",
            "The provider came back without the state ConnectorHub "
            "sent, so this cannot be matched to a connection attempt.",
            REFUSED_ADVICE,
        )
    row, verifier = await _consume(
        keeper.work, keeper.box, state, user_id=user_id, web_session_id=web_session_id
    )
    holder = Holder(row.target_kind, row.target_id)
    async with keeper.work.workspace(row.tenant_id, str(user_id)) as scope:
        held = await load(scope, keeper.box, holder)
    if held is None:
        raise ConnectRefused(
            "Deleted", f"The {holder.kind} was deleted meanwhile.", "Nothing was stored."
        )
    try:
        provider = provider_or_refusal(held.entry, keeper.settings, holder.kind)
    except (BadRequest, Conflict) as error:
        raise ConnectRefused("Cannot connect", error.message, REFUSED_ADVICE) from None
    if params.get("error"):
        raise _refused_at_provider(params["error"], params.get("error_description"), provider.name)
    if not params.get("code"):
        raise ConnectRefused(
            "No code", f"{provider.name} came back without an authorization code.", REFUSED_ADVICE
        )
    try:
        tokens = await client.exchange_code(
            keeper.outbound,
            provider,
            code=params["code"],
            redirect_uri=row.redirect_uri,
            code_verifier=verifier,
        )
    except DriverError as error:
        raise ConnectRefused(
            "Token exchange failed",
            f"{provider.name}'s token endpoint refused the code: {error.message}",
            REFUSED_ADVICE,
        ) from None
    granted = set(tokens.scopes if tokens.scopes is not None else provider.scopes)
    missing = [s for s in provider.required_scopes if s not in granted]
    if missing:
        raise ConnectRefused(
            "Permissions missing",
            f"{provider.name} granted "
            f"{', '.join(sorted(granted)) or 'no scopes'}, without "
            f"{', '.join(missing)}, which ConnectorHub needs.",
            "Nothing was stored. Press Connect again and leave every permission asked for ticked.",
        )
    try:
        account = await _identity(keeper.outbound, keeper.settings, provider, tokens)
    except DriverError as error:
        raise ConnectRefused("Account lookup failed", error.message, REFUSED_ADVICE) from None
    return await _keep(keeper, row.tenant_id, holder, provider, tokens, account, user_id)


async def _keep(
    keeper: TokenKeeper,
    tenant_id: str,
    holder: Holder,
    provider: Provider,
    tokens: TokenSet,
    account: dict[str, Any] | None,
    user_id: uuid.UUID,
) -> Connected:
    activated = False
    async with keeper.work.workspace(tenant_id, str(user_id)) as scope:
        held = await load(scope, keeper.box, holder)
        if held is None:
            raise ConnectRefused(
                "Deleted", f"The {holder.kind} was deleted meanwhile.", "Nothing was stored."
            )
        now = utcnow()
        store_tokens(
            scope,
            keeper.box,
            held,
            tokens,
            scopes_asked=provider.scopes,
            connected={
                "provider": provider.key,
                "connected_at": now.isoformat(),
                "connected_by": str(user_id),
                "account": account,
            },
        )
        row = held.row
        if isinstance(row, Connector):
            if account is not None:
                row.account = account
            row.last_test = {
                "ok": True,
                "tested_at": now.isoformat(),
                "error": None,
                "error_kind": None,
                "via": "oauth connect",
            }
            # A connection that died comes back as it was: active again once reconnected.
            if row.status == ConnectorStatus.error.value and (row.status_reason or "").startswith(
                RECONNECT_REASON
            ):
                row.status, row.status_reason, activated = ConnectorStatus.active.value, None, True
        else:
            row.provider = provider.key
        audit.record(
            scope,
            f"{holder.kind}.oauth_connected",
            holder.kind,
            holder.id,
            {
                "provider": provider.key,
                "account": (account or {}).get("handle") or (account or {}).get("id"),
                "scopes": row.oauth.get("scopes") if row.oauth else None,
            },
        )
        name = held.name
    return Connected(tenant_id, holder, name, provider.name, account, activated)


def provider_listing(
    entries: list[CatalogEntry], settings: Settings, callback: CallbackBase
) -> list[ProviderRead]:
    """What the OAuth apps page and its API show an operator."""
    listing = []
    for entry in entries:
        provider = provider_of(entry, settings)
        assert provider is not None
        listing.append(ProviderRead(
            key=provider.key, name=provider.name, configured=provider.configured,
            client_id=provider.client_id, client_secret_set=bool(provider.client_secret),
            callback_url=callback.url, callback_source=callback.source, scopes=list(provider.scopes),
            pkce=provider.pkce, refreshable=provider.refreshable,
            app_setup_url=provider.app_setup_url, app_setup_notes=provider.app_setup_notes,
        ))  # fmt: skip
    return listing
