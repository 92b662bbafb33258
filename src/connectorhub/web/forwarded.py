"""`X-Forwarded-*` believed from trusted proxies only (`CONNECTORHUB_TRUSTED_PROXIES`).

`serve` runs uvicorn without its own proxy handling, so one mechanism decides: a request whose
peer is a trusted proxy gets the client address and scheme the proxy forwarded, and is marked
so that the OAuth callback URL may take the forwarded host too. From anyone else the headers are
ignored (they could point a provider's redirect, and the code in it, at a host of their
choosing)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

VIA_TRUSTED_PROXY = "connectorhub.via_trusted_proxy"


def is_trusted(host: str | None, networks: Sequence[Any]) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


class TrustedProxyHeaders:
    def __init__(self, app: ASGIApp, networks: Callable[[], Sequence[Any]]):
        self.app, self.networks = app, networks  # read per request: the settings may change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        networks = self.networks() if scope["type"] in ("http", "websocket") else []
        if networks:
            peer = scope.get("client")
            if peer and is_trusted(peer[0], networks):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in scope.get("headers", [])}  # fmt: skip
                scope = dict(scope)
                scope[VIA_TRUSTED_PROXY] = True
                proto = headers.get("x-forwarded-proto", "").split(",")[0].strip()
                if proto in ("http", "https"):
                    scope["scheme"] = (
                        proto if scope["type"] == "http" else proto.replace("http", "ws")
                    )
                if forwarded_for := headers.get("x-forwarded-for"):
                    # The proxy appends the address it saw: the last entry is the one to trust.
                    scope["client"] = (forwarded_for.split(",")[-1].strip(), 0)
        await self.app(scope, receive, send)
