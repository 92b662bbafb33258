"""Admission: a bounded number of requests at work, a bounded queue, 503 + Retry-After beyond."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.config import Settings
from connectorhub.db import UnitOfWork, create_sessionmaker
from connectorhub.exceptions import ServiceUnavailable
from connectorhub.web.admission import Admission
from tests.conftest import TEST_KEYS


class GatedApp:
    """An ASGI app whose requests to /work wait until `gate` is set; …/events answers an event
    stream that stays open until `gate` is set; any other path answers at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = 0

    async def __call__(self, scope, receive, send) -> None:
        self.started += 1
        stream = scope["path"].endswith("/events")
        kind = b"text/event-stream" if stream else b"text/plain"
        if scope["path"] == "/work":
            await self.gate.wait()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]}
        )
        if stream:
            await self.gate.wait()
        await send({"type": "http.response.body", "body": b"ok"})


def admitted(app: GatedApp | Admission, **limits) -> httpx.AsyncClient:
    if not isinstance(app, Admission):
        app = Admission(app, Settings(secret_keys=TEST_KEYS, **limits))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def until(condition) -> None:
    while not condition():  # noqa: ASYNC110 (a count another task's request moves)
        await asyncio.sleep(0.01)


async def test_beyond_the_queue_a_request_is_refused_at_once_and_the_queued_one_gets_its_turn():
    app = GatedApp()
    async with admitted(app, max_concurrent_requests=2, request_queue_size=1) as client:
        working = [asyncio.create_task(client.get("/work")) for _ in range(2)]
        await until(lambda: app.started == 2)
        queued = asyncio.create_task(client.get("/work"))
        await asyncio.sleep(0.05)
        refused = await client.get("/work")  # the queue's one place is taken
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json() == {"detail": "The server is busy: try again shortly."}
        assert app.started == 2 and not queued.done()
        app.gate.set()
        answers = await asyncio.gather(*working, queued)
        assert [a.status_code for a in answers] == [200, 200, 200]


async def test_a_request_waiting_past_its_time_is_refused():
    app = GatedApp()
    async with admitted(
        app, max_concurrent_requests=1, request_queue_size=5, request_queue_timeout_seconds=0.1
    ) as client:
        working = asyncio.create_task(client.get("/work"))
        await until(lambda: app.started == 1)
        waited = await client.get("/work")
        assert waited.status_code == 503 and waited.headers["retry-after"] == "1"
        assert app.started == 1  # never reached the app
        app.gate.set()
        assert (await working).status_code == 200


async def test_health_checks_and_static_files_are_never_held_back():
    app = GatedApp()
    async with admitted(app, max_concurrent_requests=1, request_queue_size=0) as client:
        busy = asyncio.create_task(client.get("/work"))
        await until(lambda: app.started == 1)
        assert (await client.get("/api/installed")).status_code == 503  # the one place is taken
        for path in ("/healthz", "/readyz", "/features/static/vendor/htmx.min.js"):
            assert (await client.get(path)).status_code == 200
        app.gate.set()
        assert (await busy).status_code == 200


async def test_a_started_event_stream_gives_its_place_up():
    # Driven as ASGI directly: the test client would wait for the stream to end.
    app = GatedApp()
    admission = Admission(app, Settings(secret_keys=TEST_KEYS, max_concurrent_requests=1))
    sent: list[dict] = []

    async def receive():
        await asyncio.Event().wait()  # the client sends nothing more

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/api/executions/x/events", "headers": []}
    stream = asyncio.create_task(admission(scope, receive, send))
    await until(lambda: sent)  # the stream has started; it idles until the gate opens
    assert sent[0]["headers"] == [(b"content-type", b"text/event-stream")]
    async with admitted(admission) as client:  # the same admission, its one place
        assert (await client.get("/api/installed")).status_code == 200
    app.gate.set()
    await stream
    assert sent[-1]["body"] == b"ok"


async def test_a_pool_with_no_connection_free_in_time_is_a_503_not_a_500(tmp_path):
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )

    async def no_jobs(jobs) -> None:
        return None

    async def no_workspaces(session):
        return []

    work = UnitOfWork(create_sessionmaker(engine), no_jobs, no_workspaces)
    try:
        async with work.transaction() as holding:
            await holding.connection()  # the pool's only connection, held
            with pytest.raises(ServiceUnavailable) as refused:
                async with work.transaction() as waiting:
                    await waiting.connection()
        assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "2"}
    finally:
        await engine.dispose()
