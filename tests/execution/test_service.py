"""Execution rules below the API, on both databases."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus, Trigger
from connectorhub.kit.repository import WorkspaceScope
from tests.execution.test_endpoints import http_connector, install


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
