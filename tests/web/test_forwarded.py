"""`X-Forwarded-*` are believed from trusted proxies only (web/forwarded.py)."""

from __future__ import annotations

import ipaddress

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectorhub.web.forwarded import VIA_TRUSTED_PROXY, TrustedProxyHeaders

FORWARDED = {"X-Forwarded-For": "198.51.100.7, 10.0.0.2", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "hub.example.com"}  # fmt: skip


async def seen(request):
    return JSONResponse({"scheme": request.url.scheme, "client": request.client.host,
                         "via_proxy": bool(request.scope.get(VIA_TRUSTED_PROXY))})  # fmt: skip


async def ask(peer: str, trusted: str) -> dict:
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted.split(",") if n]
    app = TrustedProxyHeaders(Starlette(routes=[Route("/", seen)]), networks=lambda: networks)
    transport = httpx.ASGITransport(app=app, client=(peer, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.internal") as client:
        return (await client.get("/", headers=FORWARDED)).json()


async def test_a_trusted_proxy_forwards_the_client_and_scheme():
    assert await ask("10.0.0.2", "10.0.0.0/8") == {
        "scheme": "https", "client": "10.0.0.2", "via_proxy": True,  # the last hop it appended
    }  # fmt: skip
    assert (await ask("127.0.0.1", "127.0.0.1,::1"))["via_proxy"] is True


async def test_anyone_else_is_taken_as_they_are():
    assert await ask("203.0.113.5", "10.0.0.0/8") == {
        "scheme": "http", "client": "203.0.113.5", "via_proxy": False,
    }  # fmt: skip
    assert (await ask("127.0.0.1", ""))["via_proxy"] is False
