"""The one outbound HTTP client session connector steps share (aiohttp, SSRF-guarded)."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

import aiohttp

from connectorhub.kit.ssrf import AddressPolicy, GuardedResolver

USER_AGENT = "ConnectorHub/0.1"


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base · 2^(attempt-1))."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def create_outbound_session(policy: AddressPolicy, *, limit: int = 100) -> aiohttp.ClientSession:
    """A pooled session whose resolver refuses non-public answers (see kit/ssrf.py).

    `trust_env=False`: an ambient HTTP(S)_PROXY would connect somewhere other than the checked
    address. Cookies are not kept between requests of different connectors.
    """
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy), limit=limit)
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
    )


class Outbound:
    """The shared outbound session of a process and the address policy it enforces. The
    session is made on first use, on the running event loop."""

    def __init__(self, policy: AddressPolicy):
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = create_outbound_session(self.policy)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
