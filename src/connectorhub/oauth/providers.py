"""A provider as the flow uses it: the catalog entry's `oauth` block (data) joined with the
operator's app (settings), and the callback URL to register with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectorhub.catalog.models import CatalogEntry
from connectorhub.config import OAuthApp, Settings
from connectorhub.web.forwarded import VIA_TRUSTED_PROXY

CALLBACK_PATH = "/oauth/callback"


@dataclass(frozen=True)
class Provider:
    key: str  # the catalog key
    name: str  # "X", "LinkedIn": what the button says
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    required_scopes: tuple[str, ...]
    scope_separator: str
    pkce: bool
    client_auth: str  # client_secret_basic | client_secret_post | none
    authorize_params: dict[str, str]
    refreshable: bool
    identity: dict[str, Any]
    app_setup_url: str
    app_setup_notes: str
    dead_grant_errors: tuple[str, ...] = ("invalid_grant",)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        """An operator registered an app: Connect can be offered."""
        return bool(self.client_id) and (
            bool(self.client_secret) or self.client_auth == "none" or self.pkce
        )

    @property
    def auth_method(self) -> str:
        # An app registered without a secret is a public client: PKCE stands in for the secret.
        return self.client_auth if self.client_secret else "none"


def provider_of(entry: CatalogEntry, settings: Settings) -> Provider | None:
    """The entry's provider, or None when it has no `oauth` block."""
    block = entry.oauth
    if not block:
        return None
    app = settings.oauth_apps.get(entry.key) or OAuthApp()
    return Provider(
        key=entry.key,
        name=block["provider_name"],
        authorize_url=app.authorize_url or block["authorize_url"],
        token_url=app.token_url or block["token_url"],
        scopes=tuple(block["scopes"]),
        required_scopes=tuple(block.get("required_scopes") or block["scopes"]),
        scope_separator=block.get("scope_separator", " "),
        pkce=block["pkce"],
        client_auth=block["client_auth"],
        authorize_params=dict(block.get("authorize_params") or {}),
        refreshable=block.get("refreshable", True),
        identity=dict(block["identity"]),
        app_setup_url=block["app_setup_url"],
        app_setup_notes=block.get("app_setup_notes", ""),
        dead_grant_errors=tuple(block.get("dead_grant_errors") or ("invalid_grant",)),
        client_id=app.client_id,
        client_secret=app.client_secret,
    )


@dataclass(frozen=True)
class CallbackBase:
    """Where the callback is, and how that was found (the admin page says which)."""

    url: str
    source: str  # public_url | forwarded | request


def callback_url(
    settings: Settings,
    *,
    scheme: str,
    host: str,
    prefix: str,
    mount: str,
    via_trusted_proxy: bool,
    forwarded_host: str | None,
) -> CallbackBase:
    """`{public_url}{mount}/oauth/callback`; without a public URL, the request's own address
    (`prefix`: its root path and mount), the host a trusted proxy forwarded taken only when the
    request came through one (web/forwarded.py; the scheme is already the forwarded one)."""
    if settings.public_url:
        return CallbackBase(settings.public_url.rstrip("/") + mount + CALLBACK_PATH, "public_url")
    if via_trusted_proxy and forwarded_host:
        where = forwarded_host.split(",")[0].strip()
        return CallbackBase(f"{scheme}://{where}{prefix}{CALLBACK_PATH}", "forwarded")
    return CallbackBase(f"{scheme}://{host}{prefix}{CALLBACK_PATH}", "request")


def callback_for(request: Any, settings: Settings) -> CallbackBase:
    """The callback URL for a request (a Starlette request)."""
    mount = getattr(request.app.state, "ui_prefix", "")
    return callback_url(
        settings, scheme=request.url.scheme, host=request.headers.get("host") or request.url.netloc,
        prefix=request.scope.get("root_path", "") + mount, mount=mount,
        via_trusted_proxy=bool(request.scope.get(VIA_TRUSTED_PROXY)),
        forwarded_host=request.headers.get("x-forwarded-host"),
    )  # fmt: skip
