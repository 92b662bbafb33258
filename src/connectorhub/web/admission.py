"""Admission: a process works on a bounded number of requests at once; the rest wait their turn
in a bounded queue for a bounded time, or are refused 503 with `Retry-After`.

Without it, a burst of thousands of requests all start at once, all wait on the database pool,
and those still waiting when its checkout timeout passes answer 500; meanwhile each holds its
request in memory. With it, the requests being worked on never outnumber what the pool can serve
in time, a caller beyond the queue is told at once to come back, and memory stays bounded by the
two limits. Health checks and static files are never held back (a load balancer must see a busy
process as alive), and a Server-Sent Events stream gives its place up once it has started: it
idles for minutes and does no work while it does.
"""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectorhub.config import Settings

_NEVER_HELD = ("/healthz", "/readyz")


async def refuse_busy(send: Send, retry_after: int) -> None:
    body = json.dumps({"detail": "The server is busy: try again shortly."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Admission:
    """ASGI middleware: at most `max_concurrent_requests` at work, `request_queue_size` waiting
    up to `request_queue_timeout_seconds` each; beyond that 503 + Retry-After."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.limit = settings.max_concurrent_requests
        self.queue_size = settings.request_queue_size
        self.queue_timeout = settings.request_queue_timeout_seconds
        self.retry_after = max(1, math.ceil(self.queue_timeout / 2))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(self.limit)
        self.waiting = 0

    def _semaphore(self) -> asyncio.Semaphore:
        # A semaphore belongs to the loop that first waits on it: an app served again on
        # another loop (tests, a restarted embedding host) starts with a fresh one.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._slots, self.waiting = loop, asyncio.Semaphore(self.limit), 0
        return self._slots

    def _held_back(self, scope: Scope) -> bool:
        path: str = scope.get("path", "")
        return not (path.endswith(_NEVER_HELD) or "/static/" in path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._held_back(scope):
            await self.app(scope, receive, send)
            return
        slots = self._semaphore()
        if slots.locked():
            if self.waiting >= self.queue_size:
                await refuse_busy(send, self.retry_after)
                return
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.queue_timeout)
            except TimeoutError:
                await refuse_busy(send, self.retry_after)
                return
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def send_releasing_streams(message: Message) -> None:
            if message["type"] == "http.response.start" and any(
                name == b"content-type" and value.startswith(b"text/event-stream")
                for name, value in message.get("headers", [])
            ):
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing_streams)
        finally:
            release()
