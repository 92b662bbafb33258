"""`connectorhub worker` processes on a real PostgreSQL: queued executions run once, a worker
killed with SIGKILL mid-step loses nothing, and a rolled-back request queues no job."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from aiohttp import web
from sqlalchemy import text

from connectorhub.app import create_app
from connectorhub.config import Settings
from connectorhub.db import defer_after_commit
from connectorhub.hub import Hub
from connectorhub.worker.queue import Job
from tests.conftest import LOCAL_APIS, TEST_KEYS
from tests.execution.test_endpoints import execute, http_connector, install, wait_finished
from tests.fixtures.factories import make_workspace
from tests.fixtures.live_server import CLI, hub_env
from tests.worker.conftest import worker_process

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("worker-procrastinate")]


async def test_a_worker_killed_mid_step_loses_nothing(
    queue_database, queuing_hub, client, api, tmp_path
):
    release, calls = asyncio.Event(), []

    async def login(request):
        calls.append(1)
        if len(calls) == 1:
            await release.wait()  # the first attempt hangs until its worker is dead
        return web.json_response({"token": "sess-123"})

    api.route("/v1/login", login)
    api.json("/v1/users/7", {"name": "Ada"})
    ws = await make_workspace(queuing_hub)
    connector = await install(client, ws, http_connector(api))
    queued = await execute(client, ws, connector["id"], {"user": 7, "password": "pw"})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"

    with worker_process(queue_database, "first", tmp_path) as first:
        for _ in range(600):
            if calls:
                break
            await asyncio.sleep(0.05)
        assert calls, "the first worker never started the step:\n" + "".join(first.output)  # type: ignore[attr-defined]
        first.kill()  # SIGKILL: no goodbye, no heartbeat, the job stays "doing"
        first.wait(timeout=10)
    release.set()

    with worker_process(queue_database, "second", tmp_path) as second:
        execution = await wait_finished(client, ws, queued.json()["id"], seconds=60)
        log = "".join(second.output)  # type: ignore[attr-defined]
    assert execution["status"] == "succeeded", (execution, log)
    assert execution["attempt"] == 2 and execution["output"] == {"user": 7, "name": "Ada"}
    assert len(calls) == 2  # the hung attempt and the retry, nothing more
    stats = (await client.get(f"/api/installed/{connector['id']}", headers=ws.owner.headers)).json()
    assert stats["stats"]["total"] == 1 and stats["stats"]["succeeded"] == 1
    assert "lost its worker: retrying it" in log


async def test_two_workers_run_each_execution_once(
    queue_database, queuing_hub, client, api, tmp_path
):
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    ws = await make_workspace(queuing_hub)
    connector = await install(client, ws, http_connector(api))
    ids = []
    for _ in range(24):
        queued = await execute(client, ws, connector["id"], {"user": 7, "password": "pw"})
        assert queued.status_code == 202
        ids.append(queued.json()["id"])

    with (
        worker_process(queue_database, "a", tmp_path),
        worker_process(queue_database, "b", tmp_path),
    ):
        results = [
            await wait_finished(client, ws, execution_id, seconds=60) for execution_id in ids
        ]
    assert {r["status"] for r in results} == {"succeeded"}
    assert {r["attempt"] for r in results} == {1}
    assert len(api.hits_to("/v1/login")) == 24 and len(api.hits_to("/v1/users/7")) == 24
    stats = (await client.get(f"/api/installed/{connector['id']}", headers=ws.owner.headers)).json()
    assert stats["stats"]["total"] == 24 and stats["stats"]["succeeded"] == 24


async def test_a_rolled_back_transaction_queues_no_job(queuing_hub: Hub, queue_database):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with queuing_hub.work.transaction() as session:
            defer_after_commit(session, Job("run_execution", {"tenant_id": "x"}))
            raise Boom
    async with queuing_hub.work.transaction() as session:
        defer_after_commit(
            session,
            Job("run_execution", {"tenant_id": "t", "execution_id": "e"}, lock="execution:e"),
        )
    async with queuing_hub.work.transaction() as session:
        # The same waiting job again: the queueing lock keeps one.
        defer_after_commit(
            session,
            Job("run_execution", {"tenant_id": "t", "execution_id": "e"}, lock="execution:e"),
        )
    async with queuing_hub.sessionmaker() as session:
        rows = (await session.execute(text("SELECT args FROM procrastinate_jobs"))).all()
    assert [row.args for row in rows] == [{"tenant_id": "t", "execution_id": "e"}]


def test_worker_refuses_the_embedded_default(tmp_path):
    result = subprocess.run(
        [*CLI, "worker"], env=hub_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "runs jobs inside `serve`" in result.stderr


async def test_a_lost_job_is_queued_again(queue_database, queuing_hub, client, api, tmp_path):
    """The process died between the commit and handing the job over: the periodic sweep queues
    it again, once, and a worker runs it."""
    from datetime import timedelta

    from connectorhub.execution import service
    from connectorhub.execution.models import Trigger
    from connectorhub.execution.tasks import requeue_lost_execution_jobs
    from connectorhub.kit.repository import WorkspaceScope

    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    ws = await make_workspace(queuing_hub)
    connector = await install(client, ws, http_connector(api))
    async with queuing_hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, ws.slug, "test")
        lost, _ = await service.start(
            scope, queuing_hub.box, uuid.UUID(connector["id"]), {"user": 7, "password": "pw"},
            trigger=Trigger.api, idempotency_key=None, defer=False,
        )  # fmt: skip
    assert await requeue_lost_execution_jobs(queuing_hub.context, older_than=timedelta(0)) == 1
    assert (
        await requeue_lost_execution_jobs(queuing_hub.context, older_than=timedelta(0)) == 1
    )  # asked again …
    async with queuing_hub.sessionmaker() as session:
        rows = (await session.execute(text("SELECT args FROM procrastinate_jobs"))).all()
    assert [row.args["execution_id"] for row in rows] == [str(lost.id)]  # … one job all the same
    with worker_process(queue_database, "sweeper", tmp_path):
        execution = await wait_finished(client, ws, str(lost.id), seconds=60)
    assert execution["status"] == "succeeded" and execution["attempt"] == 1


async def test_waiting_callers_get_the_worker_result(
    queue_database, queuing_hub, client, api, tmp_path
):
    """On PostgreSQL `?wait=true` is run by the workers too (a dying `serve` loses nothing)."""
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    ws = await make_workspace(queuing_hub)
    connector = await install(client, ws, http_connector(api))
    with worker_process(queue_database, "waiter", tmp_path):
        done = await execute(
            client, ws, connector["id"], {"user": 7, "password": "pw"}, wait="true", timeout="30"
        )
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    assert done.json()["output"] == {"user": 7, "name": "Ada"}


async def test_a_burst_of_first_defers_opens_the_queue_once(queuing_hub: Hub, queue_database):
    # Twenty requests arriving together at a process whose queue is not open yet all defer at
    # once: each waits for the one pool being opened (issue 17 saw 500s from `PoolTimeout: pool
    # initialization incomplete` and `PoolClosed` on such a burst).
    pool_before = queuing_hub.jobs.app.connector._async_pool
    jobs = [Job("run_execution", {"tenant_id": "t", "execution_id": f"e{n}"}) for n in range(20)]
    await asyncio.gather(*(queuing_hub.jobs.defer([job]) for job in jobs))
    async with queuing_hub.sessionmaker() as session:
        count = (await session.execute(text("SELECT count(*) FROM procrastinate_jobs"))).scalar()
    assert count == 20
    assert pool_before is None and queuing_hub.jobs.app.connector._async_pool is not None


async def test_serve_opens_the_queue_at_start(queue_database):
    hub = Hub(Settings(database_url=queue_database.app_url, secret_keys=TEST_KEYS, **LOCAL_APIS))
    app = create_app(hub=hub)
    async with app.router.lifespan_context(app):
        assert hub.jobs.app.connector._async_pool is not None
