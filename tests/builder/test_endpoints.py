"""POST /api/definitions/test: an unsaved definition run against a real local server, checked
as saving one is, stored nowhere, secrets redacted."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import web

from connectorhub.tenant.models import Role
from tests.fixtures.third_party import ThirdParty

TOKEN = "tok-draft-very-secret-123"
SECRET_INPUT = "pin-9876-never-shown"


def draft(api: ThirdParty, **changes) -> dict:
    return {
        "config": {"base_url": f"{api.url}/v1", "default_headers": {"X-Team": "core"}},
        "input": {"user": 7, "pin": SECRET_INPUT},
        "definition": {
            "input_schema": {
                "type": "object",
                "required": ["user"],
                "properties": {
                    "user": {"type": "integer"},
                    "pin": {"type": "string", "writeOnly": True},
                },
            },
            "steps": [
                {
                    "name": "login",
                    "method": "POST",
                    "url": "/login",
                    "body": {"pin": "{{input.pin}}", "user": "{{input.user}}"},
                    "extract": {"session_token": "$.token"},
                },
                {
                    "name": "profile",
                    "url": "/users/{{input.user}}",
                    "query": {"fields": "name,team"},
                    "auth": {"type": "bearer", "token": "{{steps.login.session_token}}"},
                    "extract": {"name": "$.name", "team": "$.team.name"},
                    "expect_status": [200],
                },
            ],
            "output": {"name": "{{steps.profile.name}}"},
        },
        **changes,
    }


def play(api: ThirdParty) -> None:
    api.json("/v1/login", {"token": "sess-abc-123456"})
    api.json("/v1/users/7", {"name": "Ada", "team": {"name": "core"}})


async def stored_counts(client, workspace) -> tuple[int, int]:
    executions = await client.get("/api/executions", headers=workspace.owner.headers)
    connectors = await client.get("/api/connectors", headers=workspace.owner.headers)
    return executions.json()["total"], connectors.json()["total"]


@pytest.mark.both_backends
async def test_a_draft_runs_its_steps_and_sends_exactly_the_requests(client, workspace, api):
    play(api)
    before = await stored_counts(client, workspace)
    response = await client.post(
        "/api/definitions/test", json=draft(api), headers=workspace.owner.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "succeeded" and result["error"] is None
    assert result["output"] == {"name": "Ada"}
    login, profile = result["steps"]
    assert [login["name"], profile["name"]] == ["login", "profile"]
    assert login["status_code"] == 200 and login["duration_ms"] > 0
    assert login["extracted"] == {"session_token": "[redacted]"}
    assert profile["extracted"] == {"name": "Ada", "team": "core"}
    assert profile["response"] == {"name": "Ada", "team": {"name": "core"}}
    assert login["response"] == {"token": "[redacted]"}
    assert profile["request"]["headers"]["Authorization"] == "[redacted]"
    # What the third party received, exactly.
    sent_login, sent_profile = api.hits
    assert (sent_login.method, sent_login.path) == ("POST", "/v1/login")
    assert json.loads(sent_login.body) == {"pin": SECRET_INPUT, "user": 7}
    assert sent_login.headers["X-Team"] == "core"
    assert (sent_profile.method, sent_profile.path) == ("GET", "/v1/users/7")
    assert sent_profile.query == {"fields": "name,team"}
    assert sent_profile.headers["Authorization"] == "Bearer sess-abc-123456"
    assert SECRET_INPUT not in response.text and "sess-abc-123456" not in response.text
    assert await stored_counts(client, workspace) == before  # no execution, no connector


async def test_a_workspace_credential_is_used_and_redacted(client, workspace, api):
    name = f"draft_{uuid.uuid4().hex[:6]}"
    created = await client.post(
        "/api/credentials",
        json={"name": name, "kind": "bearer", "allowed_hosts": ["127.0.0.1"],
              "values": {"token": TOKEN}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    api.json("/v1/me", {"id": 1, "echo": TOKEN})
    body = draft(api, input={})
    body["definition"] = {
        "credentials": [name],
        "steps": [{"name": "me", "url": "/me", "auth": {"type": "bearer",
                   "token": f"{{{{workspace.{name}}}}}"}, "extract": {"echo": "$.echo"}}],
    }  # fmt: skip
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 200, response.text
    assert api.hits[0].headers["Authorization"] == f"Bearer {TOKEN}"
    step = response.json()["steps"][0]
    assert step["extracted"] == {"echo": "[redacted]"} and step["response"]["echo"] == "[redacted]"
    assert TOKEN not in response.text


async def test_a_connector_lends_its_config(client, workspace, api):
    play(api)
    body = draft(api)
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "http", "name": f"Lender {uuid.uuid4().hex[:6]}",
              "config": body.pop("config")},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    body["connector_id"] = created.json()["id"]
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.json()["status"] == "succeeded", response.text
    assert api.hits[0].headers["X-Team"] == "core"


async def test_private_addresses_are_refused_before_connecting(client, workspace, api):
    body = draft(api, input={"user": 1, "pin": "1234"})
    body["config"]["base_url"] = "http://169.254.169.254/latest"
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (
        result["status"] == "failed" and "refused to connect to 169.254.169.254" in result["error"]
    )
    assert result["steps"][0]["status"] == "failed" and result["steps"][0]["status_code"] is None
    assert len(result["steps"]) == 1 and api.hits == []


async def test_a_failing_step_fails_the_result_with_its_status(client, workspace, api):
    api.json("/v1/login", {"error": "nope"}, status=404)
    response = await client.post(
        "/api/definitions/test", json=draft(api), headers=workspace.owner.headers
    )
    result = response.json()
    assert result["status"] == "failed" and "answered 404" in result["error"]
    assert result["steps"][0]["status_code"] == 404
    assert result["steps"][0]["response"] == {"error": "nope"}


async def test_an_invalid_draft_answers_400_with_the_paths_saving_gives(client, workspace, api):
    body = draft(api, input={"user": "seven"})
    steps = body["definition"]["steps"]
    steps[1]["url"] = "/users/{{steps.nobody.id}}"
    steps[1]["extract"]["bad"] = "$[?"
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert set(errors) == {
        "definition.steps[1].url", "definition.steps[1].extract.bad", "input.user",
    }  # fmt: skip
    # Saving the same definition reports the same definition paths.
    saved = await client.post(
        "/api/connectors",
        json={"catalog_key": "http", "name": f"Bad {uuid.uuid4().hex[:6]}",
              "config": body["config"], "definition": body["definition"]},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert saved.status_code == 400
    assert set(saved.json()["errors"]) == {p for p in errors if p.startswith("definition.")}


async def test_a_wrongly_shaped_draft_names_each_field(client, workspace, api):
    body = draft(api)
    body["config"] = {"base_url": "ftp://example.com"}
    body["definition"]["steps"][0]["name"] = "1st step"
    body["definition"]["steps"][1]["auth"] = {"type": "bearer"}
    del body["definition"]["steps"][1]["url"]
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert set(errors) == {
        "definition.steps[0].name", "definition.steps[1].url",
        "definition.steps[1].auth.token", "config.base_url",
    }  # fmt: skip
    assert api.hits == []


async def test_an_unknown_credential_or_connector_is_a_400(client, workspace, other_workspace, api):
    body = draft(api)
    body["definition"]["credentials"] = ["missing_one"]
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 400
    assert "missing_one" in response.json()["errors"]["definition.credentials"][0]
    theirs = await client.post(
        "/api/connectors",
        json={"catalog_key": "http", "name": f"Theirs {uuid.uuid4().hex[:6]}",
              "config": {"base_url": api.url}},
        headers=other_workspace.owner.headers,
    )  # fmt: skip
    body = draft(api, connector_id=theirs.json()["id"])
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    assert response.status_code == 400 and "connector_id" in response.json()["errors"]
    assert api.hits == []


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_viewers_and_members_may_not_test_drafts(client, workspace, api, role):
    play(api)
    someone = await workspace.member(role)
    response = await client.post("/api/definitions/test", json=draft(api), headers=someone.headers)
    assert response.status_code == 403
    assert api.hits == []


async def test_the_endpoint_is_in_openapi_with_its_statuses(client):
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/definitions/test"]["post"]
    assert {"200", "400", "401", "403", "409", "422"} <= set(operation["responses"])


async def test_a_run_is_bounded_by_its_timeout(client, workspace, api):
    release = asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        await release.wait()  # set once the test is done
        return web.json_response({})

    api.route("/v1/login", never_answers)
    try:
        response = await client.post(
            "/api/definitions/test", params={"timeout": 0.5}, json=draft(api),
            headers=workspace.owner.headers,
        )  # fmt: skip
    finally:
        release.set()
    result = response.json()
    assert result["status"] == "failed" and "stopped after 0.5 s" in result["error"]
    assert [s["status"] for s in result["steps"]] == ["failed"]
    over = await client.post(
        "/api/definitions/test", params={"timeout": 500}, json=draft(api),
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert over.status_code == 422


async def test_an_oauth2_credential_is_made_usable_as_a_run_makes_it(client, workspace, api):
    # One that names a provider goes through the runs' renewal: never connected, it says so.
    name = f"oauth_{uuid.uuid4().hex[:6]}"
    created = await client.post(
        "/api/credentials",
        json={"name": name, "kind": "oauth2", "provider": "twitter",
              "allowed_hosts": ["127.0.0.1"], "values": {}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    body = draft(api, input={})
    body["definition"] = {
        "credentials": [name],
        "steps": [{"name": "me", "url": "/me", "auth": {"type": "bearer",
                   "token": f"{{{{workspace.{name}}}}}"}}],
    }  # fmt: skip
    response = await client.post(
        "/api/definitions/test", json=body, headers=workspace.owner.headers
    )
    result = response.json()
    assert response.status_code == 200, response.text
    assert result["status"] == "failed" and "is not connected yet" in result["error"]
    assert result["steps"] == [] and api.hits == []
