"""Runs that cannot or could not finish: undecryptable sealed data ends the execution failed on
its first attempt (never queued forever), and an abandoned attempt's retry resumes at the first
unfinished step, with the same Idempotency-Key. On both databases."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiohttp import web

from connectorhub.connector.models import Connector
from connectorhub.execution import service, tasks
from connectorhub.execution.models import Execution, Trigger
from connectorhub.key_rotation import rotate
from connectorhub.kit.crypto import Keyring, SecretBox, generate_key
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import associated_data
from tests.execution.test_endpoints import execute, http_connector, install, play_api


async def _set_auth(hub, workspace, connector_id: str, seal_for: uuid.UUID, flip: bool) -> None:
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        connector = await session.get(Connector, uuid.UUID(connector_id))
        aad = associated_data(scope.tenant_id, Connector.__tablename__, seal_for, "token")
        sealed = hub.box.seal("tok-real", aad)
        if flip:
            sealed = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
        connector.auth = {"token": sealed}


@pytest.mark.both_backends
@pytest.mark.parametrize("damage", ["flipped byte", "copied from another row"])
async def test_unreadable_auth_fails_the_execution_at_once_and_marks_the_connector(
    client, hub, workspace, api, damage
):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    other = uuid.uuid4() if damage == "copied from another row" else uuid.UUID(connector["id"])
    await _set_auth(hub, workspace, connector["id"], other, flip=damage == "flipped byte")
    response = await execute(
        client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true"
    )
    assert response.status_code in (200, 202), response.text
    execution = response.json()
    for _ in range(200):
        if execution["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
        execution = (
            await client.get(f"/api/executions/{execution['id']}", headers=workspace.owner.headers)
        ).json()
    assert execution["status"] == "failed" and execution["attempt"] == 1, execution
    assert "credentials unreadable" in execution["error"] and "token" in execution["error"]
    assert api.hits == []
    after = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert after["status"] == "error" and "credentials unreadable" in after["status_reason"]
    again = await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    assert again.status_code == 409  # a clear 4xx, not a 500


def chain(api) -> dict:
    return http_connector(api, steps=[
        {"name": "create", "method": "POST", "url": "/orders", "body": {"n": 1},
         "extract": {"order": "$.id"}},
        {"name": "notify", "method": "POST", "url": "/orders/{{steps.create.order}}/notify",
         "body": {}, "extract": {"sent": "$.sent"}},
    ], output={"order": "{{steps.create.order}}", "sent": "{{steps.notify.sent}}"})  # fmt: skip


@pytest.mark.both_backends
async def test_an_abandoned_run_resumes_at_its_first_unfinished_step(client, hub, workspace, api):
    api.json("/v1/orders", {"id": "o-1"})
    reached, released, calls = asyncio.Event(), asyncio.Event(), []

    async def notify(request):
        calls.append(request.headers.get("Idempotency-Key"))
        if len(calls) == 1:
            reached.set()
            await released.wait()  # the first attempt never hears back (released at the end,
            # so the third party's server shuts down at once instead of waiting for it)
        return web.json_response({"sent": True})

    api.route("/v1/orders/o-1/notify", notify)
    connector = await install(client, workspace, chain(api))
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        execution, _ = await service.start(
            scope, hub.box, uuid.UUID(connector["id"]), {"user": 7},
            trigger=Trigger.api, idempotency_key=None, defer=False,
        )  # fmt: skip
    first = asyncio.create_task(
        tasks.run_execution(hub.context.as_claimant("process:first"), workspace.slug,
                            str(execution.id))
    )  # fmt: skip
    try:
        await reached.wait()
        first.cancel()  # the worker is gone mid-step
        with pytest.raises(asyncio.CancelledError):
            await first
        await tasks.run_execution(
            hub.context.as_claimant("process:second"), workspace.slug, str(execution.id),
            take_over=True,
        )  # fmt: skip
    finally:
        released.set()
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        done: Execution = await service.read(scope, execution.id)
    assert done.status == "succeeded" and done.attempt == 2, (done.status, done.error)
    assert done.output == {"order": "o-1", "sent": True}
    assert len(api.hits_to("/v1/orders")) == 1  # step 1 was not sent again
    assert len(calls) == 2 and calls[0] and calls[0] == calls[1]
    assert api.hits_to("/v1/orders")[0].headers["Idempotency-Key"] != calls[0]
    assert not any(k.startswith("#step/") for k in done.sealed_input)  # checkpoints are gone


@pytest.mark.both_backends
async def test_key_rotation_during_a_run_is_not_undone_by_its_progress(client, hub, workspace, api):
    """Rotation re-seals a running execution's secret input; the run's later progress writes add
    its checkpoints to that, never the copy it took at its claim (old key's ciphertexts back in a
    row rotation had counted as moved)."""
    api.json("/v1/orders/o-1/notify", {"sent": True})
    reached, released = asyncio.Event(), asyncio.Event()

    async def create(request):
        reached.set()
        await released.wait()
        return web.json_response({"id": "o-1"})

    api.route("/v1/orders", create)
    connector = await install(client, workspace, chain(api))
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        execution, _ = await service.start(
            scope, hub.box, uuid.UUID(connector["id"]), {"user": 7, "password": "pw-secret"},
            trigger=Trigger.api, idempotency_key=None, defer=False,
        )  # fmt: skip
    running = asyncio.create_task(
        tasks.run_execution(hub.context.as_claimant("process:rotating"), workspace.slug,
                            str(execution.id))
    )  # fmt: skip
    original = hub.box
    rotated = SecretBox(Keyring.parse(original.keyring.format() + f",krun:{generate_key()}"))
    try:
        await reached.wait()
        await rotate(hub.work, rotated)  # while step 1 is in flight
        released.set()
        await running
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, workspace.slug, "test")
            done: Execution = await service.read(scope, execution.id)
        assert done.status == "succeeded", done.error
        assert done.sealed_input and {
            SecretBox.key_id_of(value) for value in done.sealed_input.values()
        } == {"krun"}
    finally:
        released.set()
        hub.box = SecretBox(Keyring((rotated.keyring.keys[-1], *original.keyring.keys)))
        await rotate(hub.work, hub.box)
        hub.box = original
