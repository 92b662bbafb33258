"""What every publisher driver shares: one call through the injected SSRF-guarded session (the
address policy checked on the URL first: the resolver alone never sees IP literals), connection
trouble mapped to the driver error kinds, and media fetched with a size cap, each redirect
checked again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.outbound import Outbound, retry_after_seconds
from connectorhub.kit.ssrf import BlockedAddress

TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else {}
        except ValueError:
            raise FatalError(
                f"the provider answered {self.status} with something other than JSON"
            ) from None


MAX_REDIRECTS = 5
# Answers that say the request was not acted on: retrying them is safe.
NOT_DONE = {429, 503}


def maybe_done(status: int) -> bool:
    return status not in NOT_DONE


async def call(
    outbound: Outbound, method: str, url: str, *, headers: dict[str, str],
    params: dict[str, str] | None = None, body: Any = None, data: Any = None,
) -> Reply:  # fmt: skip
    """One request, never following a redirect (a credential goes to its provider's host only).
    Raises FatalError for a refused address, RetriableError when unreachable (`maybe_sent`
    when it may have arrived: a timeout or a dropped connection after connecting)."""
    host = urlsplit(url).hostname
    try:
        outbound.policy.check_url(url)
    except BlockedAddress as error:
        raise FatalError(str(error)) from None
    http = outbound.session
    try:
        async with http.request(
            method, url, params=params, json=body, data=data, headers=headers,
            timeout=TIMEOUT, allow_redirects=False,
        ) as response:  # fmt: skip
            return Reply(response.status, response.headers, await response.read())
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, BlockedAddress):
            raise FatalError(str(error.os_error)) from None
        raise RetriableError(f"could not connect to {host}: {error.os_error}") from None
    except TimeoutError:
        raise RetriableError(f"no answer from {host} within 60 s", maybe_sent=True) from None
    except aiohttp.ClientError as error:
        raise RetriableError(f"connection to {host} failed: {error}", maybe_sent=True) from None


def raise_for(provider: str, reply: Reply, detail: str) -> NoReturn:
    """The usual classification of a refused answer, in the provider's words: 401/403 →
    AuthFailed, 429/5xx → RetriableError (Retry-After honoured), anything else → FatalError."""
    said = f"{provider} answered {reply.status}: {detail or reply.body[:300].decode('utf-8', 'replace')}"
    if reply.status in (401, 403):
        raise AuthFailed(said, status_code=reply.status)
    if reply.status == 429 or reply.status >= 500:
        raise RetriableError(
            said, status_code=reply.status, maybe_sent=maybe_done(reply.status),
            retry_after=retry_after_seconds(reply.headers.get("Retry-After")),
        )  # fmt: skip
    raise FatalError(said, status_code=reply.status)


@dataclass(frozen=True)
class Media:
    content: bytes
    content_type: str
    filename: str


async def fetch_image(outbound: Outbound, url: str, *, limit: int) -> Media:
    """A media URL's image (no credentials sent), following at most MAX_REDIRECTS redirects,
    each checked against the address policy: at most `limit` bytes, and an image. Raises
    FatalError otherwise, RetriableError when unreachable."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            outbound.policy.check_url(url)
            async with outbound.session.get(
                url, timeout=TIMEOUT, allow_redirects=False
            ) as response:
                location = response.headers.get("Location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    url = urljoin(str(response.url), location)
                    continue
                kind = response.headers.get("Content-Type", "").split(";")[0].strip()
                if response.status != 200:
                    raise FatalError(f"the media {url} answered {response.status}")
                if not kind.startswith("image/"):
                    raise FatalError(f"the media {url} is {kind or 'untyped'}, not an image")
                declared = response.content_length
                if declared is not None and declared > limit:
                    raise FatalError(f"the media {url} is larger than {limit} bytes")
                content = await response.content.read(limit + 1)
        except BlockedAddress as error:
            raise FatalError(f"the media {url}: {error}") from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, BlockedAddress):
                raise FatalError(f"the media {url}: {error.os_error}") from None
            raise RetriableError(f"could not fetch the media {url}: {error.os_error}") from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise RetriableError(f"could not fetch the media {url}: {error or 'timeout'}") from None
        if len(content) > limit:
            raise FatalError(f"the media {url} is larger than {limit} bytes")
        return Media(content, kind, urlsplit(url).path.rsplit("/", 1)[-1] or "image")
    raise FatalError(f"the media {url}: more than {MAX_REDIRECTS} redirects")
