"""The executions API on both databases, with a real local server as the third party."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from aiohttp import web

from connectorhub.tenant.models import Role
from tests.fixtures.factories import WorkspaceFixture
from tests.fixtures.third_party import ThirdParty

SECRET_INPUT = "pa55-word-never-stored"


def http_connector(api: ThirdParty, name: str | None = None, **definition) -> dict:
    return {
        "catalog_key": "http",
        "name": name or f"API {uuid.uuid4().hex[:6]}",
        "config": {"base_url": f"{api.url}/v1", "default_headers": {"X-Team": "core"}},
        "definition": {
            "input_schema": {
                "type": "object",
                "required": ["user"],
                "properties": {
                    "user": {"type": "integer", "minimum": 1},
                    "password": {"type": "string", "writeOnly": True},
                },
                "additionalProperties": False,
            },
            "steps": [
                {
                    "name": "login",
                    "method": "POST",
                    "url": "/login",
                    "body": {"password": "{{input.password}}"},
                    "extract": {"session_token": "$.token"},
                },
                {
                    "name": "profile",
                    "url": "/users/{{input.user}}",
                    "auth": {"type": "bearer", "token": "{{steps.login.session_token}}"},
                    "extract": {"name": "$.name"},
                },
            ],
            "output": {"user": "{{input.user}}", "name": "{{steps.profile.name}}"},
            **definition,
        },
    }


def play_api(api: ThirdParty) -> None:
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})


async def install(client: httpx.AsyncClient, ws: WorkspaceFixture, body: dict) -> dict:
    created = await client.post("/api/connectors", json=body, headers=ws.owner.headers)
    assert created.status_code == 201, created.text
    active = await client.patch(
        f"/api/connectors/{created.json()['id']}",
        json={"status": "active"},
        headers=ws.owner.headers,
    )
    assert active.status_code == 200, active.text
    return active.json()


async def execute(client, ws, connector_id, run_input, member=None, **params):
    return await client.post(
        f"/api/connectors/{connector_id}/execute",
        params=params,
        json={"input": run_input},
        headers=(member or ws.owner).headers,
    )


async def wait_finished(client, ws, execution_id, seconds: float = 10) -> dict:
    for _ in range(int(seconds / 0.05)):
        found = (
            await client.get(f"/api/executions/{execution_id}", headers=ws.owner.headers)
        ).json()
        if found["status"] in ("succeeded", "failed", "cancelled"):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not finish: {found}")


@pytest.mark.both_backends
async def test_wait_runs_the_chain_and_returns_the_result(client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    response = await execute(
        client, workspace, connector["id"], {"user": 7, "password": SECRET_INPUT}, wait="true"
    )
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "succeeded" and execution["trigger"] == "api"
    assert execution["output"] == {"user": 7, "name": "Ada"}
    assert [s["name"] for s in execution["steps"]] == ["login", "profile"]
    assert execution["steps"][0]["extracted"] == {"session_token": "[redacted]"}
    assert execution["input"] == {"user": 7, "password": "********"}
    assert SECRET_INPUT not in response.text and "sess-123" not in response.text
    login, profile = api.hits
    assert json.loads(login.body) == {"password": SECRET_INPUT}
    assert profile.headers["Authorization"] == "Bearer sess-123"
    assert profile.headers["X-Team"] == "core"

    stats = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()["stats"]
    assert stats["total"] == 1 and stats["succeeded"] == 1 and stats["failed"] == 0
    assert stats["avg_duration_ms"] > 0 and stats["last_run_at"]


@pytest.mark.both_backends
async def test_background_execution_is_queued_then_runs(client, workspace, api, hub):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    response = await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    assert response.status_code == 202
    assert response.json()["status"] in ("queued", "running")
    finished = await wait_finished(client, workspace, response.json()["id"])
    assert finished["status"] == "succeeded" and finished["attempt"] == 1


@pytest.mark.both_backends
async def test_an_idempotency_key_returns_the_same_execution(client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    key = {"Idempotency-Key": "order-42", **workspace.owner.headers}
    first = await client.post(
        f"/api/connectors/{connector['id']}/execute?wait=true",
        json={"input": {"user": 7, "password": "pw"}},
        headers=key,
    )
    again = await client.post(
        f"/api/connectors/{connector['id']}/execute",
        json={"input": {"user": 7, "password": "pw"}},
        headers=key,
    )
    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(api.hits_to("/v1/users/7")) == 1


async def test_bad_input_is_400_and_starts_nothing(client, workspace, api):
    connector = await install(client, workspace, http_connector(api))
    response = await execute(client, workspace, connector["id"], {"user": 0, "extra": 1})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"input.user", "input.extra"}
    listed = await client.get(
        "/api/executions", params={"connector_id": connector["id"]}, headers=workspace.owner.headers
    )
    assert listed.json()["total"] == 0 and api.hits == []


async def test_only_active_http_connectors_run(client, workspace, api):
    created = await client.post(
        "/api/connectors", json=http_connector(api), headers=workspace.owner.headers
    )
    inactive = await execute(client, workspace, created.json()["id"], {"user": 7, "password": "pw"})
    assert inactive.status_code == 409 and "activate it" in inactive.json()["detail"]
    blog = await client.post(
        "/api/connectors",
        headers=workspace.owner.headers,
        json={
            "catalog_key": "wordpress",
            "name": "Blog",
            "config": {"base_url": "https://blog.example.com", "site_label": "Blog"},
        },
    )
    no_definition = await execute(client, workspace, blog.json()["id"], {})
    assert no_definition.status_code == 400


async def test_definitions_are_checked_when_saved(client, workspace, api):
    body = http_connector(api)
    body["definition"]["steps"][1]["url"] = "/users/{{input.usr}}/{{steps.later.x}}"
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.status_code == 400
    messages = response.json()["errors"]["definition.steps[1].url"]
    assert any("unknown input name 'usr'" in m for m in messages)
    assert any("'later' is not an earlier step" in m for m in messages)

    blog = {
        "catalog_key": "wordpress",
        "name": "Blog",
        "definition": body["definition"],
        "config": {"base_url": "https://blog.example.com", "site_label": "Blog"},
    }
    refused = await client.post("/api/connectors", json=blog, headers=workspace.owner.headers)
    assert refused.json()["errors"] == {"definition": ["Only HTTP connectors take a definition."]}

    bare = await client.post(
        "/api/connectors",
        headers=workspace.owner.headers,
        json={"catalog_key": "http", "name": "Bare", "config": {"base_url": api.url}},
    )
    activate = await client.patch(
        f"/api/connectors/{bare.json()['id']}",
        json={"status": "active"},
        headers=workspace.owner.headers,
    )
    assert activate.status_code == 400 and "definition" in activate.json()["errors"]


@pytest.mark.both_backends
async def test_an_auth_failure_fails_fast_and_marks_the_connector(client, workspace, api):
    api.json("/v1/login", {"error": "bad password"}, status=401)
    connector = await install(client, workspace, http_connector(api))
    execution = (
        await execute(
            client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true"
        )
    ).json()
    assert execution["status"] == "failed" and "401" in execution["error"]
    assert len(api.hits) == 1  # no retry, no second step
    after = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert after["status"] == "error" and "401" in after["status_reason"]
    assert after["stats"]["failed"] == 1
    again = await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    assert again.status_code == 409


@pytest.mark.both_backends
async def test_cancel_a_running_execution_before_its_next_step(client, workspace, api):
    release = asyncio.Event()

    async def slow_login(request):
        await release.wait()
        return web.json_response({"token": "t"})

    api.route("/v1/login", slow_login)
    api.json("/v1/users/7", {"name": "Ada"})
    connector = await install(client, workspace, http_connector(api))
    started = (
        await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    ).json()
    for _ in range(200):
        if api.hits:
            break
        await asyncio.sleep(0.02)
    cancel = await client.post(
        f"/api/executions/{started['id']}/cancel", headers=workspace.owner.headers
    )
    assert cancel.status_code == 200 and cancel.json()["cancel_requested"] is True
    release.set()
    finished = await wait_finished(client, workspace, started["id"])
    assert finished["status"] == "cancelled"
    assert [s["name"] for s in finished["steps"]] == ["login"]
    assert api.hits_to("/v1/users/7") == []
    again = await client.post(
        f"/api/executions/{started['id']}/cancel", headers=workspace.owner.headers
    )
    assert again.status_code == 409


@pytest.mark.both_backends
async def test_progress_streams_as_server_sent_events(client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    started = (
        await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    ).json()
    events = []
    async with client.stream(
        "GET", f"/api/executions/{started['id']}/events", headers=workspace.owner.headers
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and events[-1][1] == {"status": "succeeded"}
    finished_steps = [d["name"] for k, d in events if k == "step" and d["status"] == "succeeded"]
    assert finished_steps == ["login", "profile"]
    assert "sess-123" not in json.dumps(events)


@pytest.mark.both_backends
async def test_list_filters_and_workspace_isolation(client, workspace, other_workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    ok = (
        await execute(
            client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true"
        )
    ).json()
    api.json("/v1/users/8", {"error": "gone"}, status=404)
    bad = (
        await execute(
            client, workspace, connector["id"], {"user": 8, "password": "pw"}, wait="true"
        )
    ).json()
    assert bad["status"] == "failed" and "answered 404" in bad["error"]

    def listed(**params):
        return client.get("/api/executions", params=params, headers=workspace.owner.headers)

    everything = (await listed(connector_id=connector["id"])).json()
    assert everything["total"] == 2 and everything["items"][0]["id"] == bad["id"]  # newest first
    failed = (await listed(connector_id=connector["id"], status="failed")).json()
    assert [e["id"] for e in failed["items"]] == [bad["id"]]

    outsider = other_workspace.owner.headers
    assert (await client.get(f"/api/executions/{ok['id']}", headers=outsider)).status_code == 404
    assert (await client.get("/api/executions", headers=outsider)).json()["total"] == 0
    foreign = await client.post(
        f"/api/connectors/{connector['id']}/execute",
        json={"input": {"user": 7, "password": "pw"}},
        headers=outsider,
    )
    assert foreign.status_code == 404
    events = await client.get(f"/api/executions/{ok['id']}/events", headers=outsider)
    assert events.status_code == 404


async def test_viewers_read_but_cannot_run(client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    viewer = await workspace.member(Role.viewer)
    refused = await execute(
        client, workspace, connector["id"], {"user": 7, "password": "pw"}, member=viewer
    )
    assert refused.status_code == 403
    member = await workspace.member(Role.member)
    allowed = await execute(
        client,
        workspace,
        connector["id"],
        {"user": 7, "password": "pw"},
        member=member,
        wait="true",
    )
    assert allowed.status_code == 200
    seen = await client.get(f"/api/executions/{allowed.json()['id']}", headers=viewer.headers)
    assert seen.status_code == 200


@pytest.mark.slow
async def test_a_killed_server_loses_no_execution(tmp_path, api):
    """SIGKILL the embedded server mid-step; the next start finishes the run, exactly once."""
    from tests.fixtures.live_server import live_server

    release, calls = asyncio.Event(), []

    async def login(request):
        calls.append(1)
        if len(calls) == 1:
            await release.wait()  # the first attempt hangs until its server is dead
        return web.json_response({"token": "sess-123"})

    api.route("/v1/login", login)
    api.json("/v1/users/7", {"name": "Ada"})
    env = {"CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"}
    with live_server(tmp_path, **env) as first:
        headers = first.headers
        async with httpx.AsyncClient(base_url=first.url, headers=headers) as http:
            created = await http.post("/api/connectors", json=http_connector(api))
            connector_id = created.json()["id"]
            await http.patch(f"/api/connectors/{connector_id}", json={"status": "active"})
            started = await http.post(
                f"/api/connectors/{connector_id}/execute",
                json={"input": {"user": 7, "password": "pw"}},
            )
            execution_id = started.json()["id"]
            for _ in range(300):
                if calls:
                    break
                await asyncio.sleep(0.02)
            assert calls, "the first step never started"
            first.process.kill()
            first.process.wait(timeout=10)
    release.set()

    with live_server(tmp_path, **env) as second:
        async with httpx.AsyncClient(base_url=second.url, headers=headers) as http:
            for _ in range(300):
                execution = (await http.get(f"/api/executions/{execution_id}")).json()
                if execution["status"] in ("succeeded", "failed", "cancelled"):
                    break
                await asyncio.sleep(0.05)
            assert execution["status"] == "succeeded", execution
            assert execution["attempt"] == 2 and execution["output"]["name"] == "Ada"
            stats = (await http.get(f"/api/installed/{connector_id}")).json()["stats"]
            assert stats["total"] == 1 and stats["succeeded"] == 1


@pytest.mark.both_backends
async def test_a_long_step_shows_up_while_it_runs(client, workspace, api):
    """Progress is written in the background (at most twice a second), so a step that takes a
    while is visible as running before it ends; a quick chain writes only when it finishes."""
    release = asyncio.Event()

    async def slow_login(request):
        await release.wait()
        return web.json_response({"token": "sess-123"})

    api.route("/v1/login", slow_login)
    api.json("/v1/users/7", {"name": "Ada"})
    connector = await install(client, workspace, http_connector(api))
    started = await execute(client, workspace, connector["id"], {"user": 7, "password": "pw"})
    url = f"/api/executions/{started.json()['id']}"
    seen: list = []
    for _ in range(60):
        seen = (await client.get(url, headers=workspace.owner.headers)).json()["steps"]
        if seen:
            break
        await asyncio.sleep(0.05)
    release.set()
    assert [(s["name"], s["status"]) for s in seen] == [("login", "running")]
    done = await wait_finished(client, workspace, started.json()["id"])
    assert [s["status"] for s in done["steps"]] == ["succeeded", "succeeded"]


async def test_a_header_filled_with_a_line_break_fails_the_run_cleanly(client, workspace, api):
    api.json("/v1/users/7", {"name": "Ada"})
    connector = await install(client, workspace, http_connector(
        api,
        input_schema={"type": "object", "properties": {"user": {"type": "integer"},
                                                       "note": {"type": "string"}}},
        steps=[{"name": "profile", "url": "/users/{{input.user}}", "headers": {"X-Note": "{{input.note}}"},
                "extract": {"name": "$.name"}}],
        output={"name": "{{steps.profile.name}}"},
    ))  # fmt: skip
    done = await execute(client, workspace, connector["id"], {"user": 7, "note": "hi\r\nX-Injected: 1"},
                         wait="true")  # fmt: skip
    failed = done.json()
    assert (
        failed["status"] == "failed"
        and "contains a line break or another control character" in failed["error"]
    ), failed
    assert api.hits_to("/v1/users/7") == []


async def test_a_filter_whose_pattern_backtracks_forever_fails_the_run_not_the_server(
    client, workspace, api
):
    api.json("/v1/users/7", {"tags": ["a" * 40 + "!", "vip"]})
    connector = await install(client, workspace, http_connector(
        api,
        steps=[{"name": "profile", "url": "/users/{{input.user}}",
                "extract": {"vip": "$.tags[?match(@, 'v.p')]", "odd": "$.tags[?match(@, '(a|a)+$')]"}}],
        output={"vip": "{{steps.profile.vip}}"},
    ))  # fmt: skip
    done = (await execute(client, workspace, connector["id"], {"user": 7}, wait="true")).json()
    assert done["status"] == "failed", done
    assert "extract odd: the pattern '(a|a)+$' took longer than 0.1 s" in done["error"]
    health = await client.get("/healthz")
    assert health.status_code == 200  # the process carried on
    # The same definition without the runaway pattern: match() works as RFC 9535 says.
    fine = await install(client, workspace, http_connector(
        api, name="fine",
        steps=[{"name": "profile", "url": "/users/{{input.user}}",
                "extract": {"vip": "$.tags[?match(@, 'v.p')]"}}],
        output={"vip": "{{steps.profile.vip}}"},
    ))  # fmt: skip
    done = (await execute(client, workspace, fine["id"], {"user": 7}, wait="true")).json()
    assert done["status"] == "succeeded" and done["output"] == {"vip": ["vip"]}, done
