"""Execution rules below the API, on both databases."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus, Trigger
from connectorhub.kit.repository import WorkspaceScope
from tests.execution.test_endpoints import execute, http_connector, install, play_api


@pytest.mark.both_backends
async def test_only_its_claimant_takes_a_running_execution_again(client, workspace, api, hub):
    connector = await install(client, workspace, http_connector(api))
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        execution, created = await service.start(
            scope, hub.box, uuid.UUID(connector["id"]), {"user": 7},
            trigger=Trigger.api, idempotency_key=None, defer=False,
        )  # fmt: skip
    assert created

    async def claim(claimant: str, take_over: bool = False):
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, workspace.slug, "test")
            return await service.claim(
                scope, hub.box, execution.id, claimant=claimant, take_over=take_over
            )

    assert await claim("job:1#0") is not None  # queued → running for job 1
    assert await claim("job:2#0") is None  # a duplicate job: job 1 is running it
    assert await claim("job:1#1") is not None  # job 1 retried after its worker was taken for dead
    assert await claim("process:restarted", take_over=True) is not None

    async def finish(claimant: str) -> str:
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, workspace.slug, "test")
            await service.finish(
                scope, execution.id, ExecutionStatus.succeeded, steps=[], claimant=claimant
            )
            return (await service.read(scope, execution.id)).status

    # Attempts that lost the claim are fenced off: they end nothing.
    assert await finish("job:1#0") == "running"
    assert await finish("job:1#1") == "running"
    assert await finish("process:restarted") == "succeeded"
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        stored = await service.read(scope, execution.id)
    assert stored.attempt == 3 and stored.claimed_by == "process:restarted"


async def _failed_notifications(client, ws) -> list[dict]:
    items = (await client.get("/api/notifications", headers=ws.owner.headers)).json()["items"]
    return [n for n in items if n["kind"] == "execution.failed"]


@pytest.mark.both_backends
async def test_a_failed_execution_notifies_once_with_its_masked_error(client, workspace, api):
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"error": "boom"}, status=404)
    connector = await install(client, workspace, http_connector(api, name="Profiles"))
    secret = "pa55-never-shown-1"
    run = {"user": 7, "password": secret}
    first = (await execute(client, workspace, connector["id"], run, wait="true")).json()
    assert first["status"] == "failed"
    [raised] = await _failed_notifications(client, workspace)
    assert raised["subject_id"] == first["id"] and raised["level"] == "error"
    assert raised["link"] == f"/executions/{first['id']}"
    assert raised["title"] == "Profiles: a run failed" and raised["body"] == first["error"]
    assert "404" in raised["body"] and secret not in str(raised)
    # Another failed run is another notification; the first is not counted twice.
    second = (await execute(client, workspace, connector["id"], run, wait="true")).json()
    raised_now = await _failed_notifications(client, workspace)
    assert sorted(n["subject_id"] for n in raised_now) == sorted([first["id"], second["id"]])
    assert all(n["occurrences"] == 1 for n in raised_now)


@pytest.mark.both_backends
async def test_succeeded_and_cancelled_executions_notify_nothing(client, workspace, api, hub):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    run = {"user": 7, "password": "pw"}
    done = await execute(client, workspace, connector["id"], run, wait="true")
    assert done.json()["status"] == "succeeded"
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        execution, _ = await service.start(
            scope, hub.box, uuid.UUID(connector["id"]), run,
            trigger=Trigger.api, idempotency_key=None, defer=False,
        )  # fmt: skip
    cancelled = await client.post(
        f"/api/executions/{execution.id}/cancel", headers=workspace.owner.headers
    )
    assert cancelled.json()["status"] == "cancelled"
    assert await _failed_notifications(client, workspace) == []
