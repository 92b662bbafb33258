"""Server limits: request headers bounded in size and number, and a body that stops arriving.

A body shorter than its `Content-Length` would otherwise keep the request's task (and its
connection) waiting for as long as the client likes; each wait for the next part of a body is
bounded, and a request that runs out of it is answered 408 and its connection closed.

`serve` runs uvicorn's h11 parser with `h11_max_incomplete_event_size` at the header limit, so an
oversized head is refused (400) before it is buffered whole (httptools has no such bound); the
middleware refuses (431) what gets through any server — too many headers, or too many bytes of
them when the hub is embedded in another server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectorhub.config import Settings

log = logging.getLogger(__name__)


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """The `uvicorn.run` options that bound a request's head before it is parsed."""
    return {"http": "h11", "h11_max_incomplete_event_size": settings.request_header_max_bytes}


def _header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in headers)  # "name: value\r\n"


async def _answer(send: Send, status: int, message: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps({"detail": message}).encode()})


class RequestLimits:
    """ASGI middleware: 431 for too many (or too large) headers, 408 for a stalled body."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if len(headers) > self.settings.request_header_max_count:
            await _answer(
                send, 431, f"more than {self.settings.request_header_max_count} request headers"
            )
            return
        if _header_bytes(headers) > self.settings.request_header_max_bytes:
            await _answer(
                send, 431, f"request headers over {self.settings.request_header_max_bytes} bytes"
            )
            return
        await _BoundedBody(
            self.app, self.settings.request_body_timeout_seconds,
            self.settings.request_body_deadline_seconds,
        ).run(scope, receive, send)  # fmt: skip


class _BoundedBody:
    """One request whose body reads are bounded: each by `timeout`, all of them together by
    `deadline` (from the first read: a body trickling in a byte at a time ends too). Once its
    body is complete, receive() waits unbounded again: a streamed response listens on it for
    the client's disconnect."""

    def __init__(self, app: ASGIApp, timeout: float, deadline: float):
        self.app, self.timeout, self.deadline = app, timeout, deadline
        self.body_complete = self.timed_out = self.response_started = False
        self.ends_at: float | None = None

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def bounded_receive() -> Message:
            if self.timed_out:
                return {"type": "http.disconnect"}
            if self.body_complete:
                return await receive()
            now = asyncio.get_running_loop().time()
            if self.ends_at is None:
                self.ends_at = now + self.deadline
            try:
                async with asyncio.timeout(min(self.timeout, max(self.ends_at - now, 0))):
                    message = await receive()
            except TimeoutError:
                self.timed_out = True
                log.info(
                    "request body stalled or too slow (%ss a read, %ss in all): %s %s",
                    self.timeout, self.deadline, scope.get("method"), scope.get("path"),
                )  # fmt: skip
                if not self.response_started:
                    self.response_started = True
                    await _answer(send, 408, "the request body stopped arriving")
                # The app sees the client gone; whatever it answers now is dropped.
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                self.body_complete = True
            return message

        async def tracked_send(message: Message) -> None:
            if self.timed_out:
                return  # the 408 was the answer
            if message["type"] == "http.response.start":
                self.response_started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracked_send)
        except Exception:
            if not self.timed_out:
                raise
            # Reading a body the client never finished failed: the client's doing, not an error.
