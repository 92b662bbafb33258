"""Secrets of a run never stored or shown: secret inputs at any depth (masked, sealed, still
sent), and every secret the run knows masked by value wherever a third party echoes it back —
also JSON-escaped, URL-encoded or base64 — in records, outputs and errors. On both databases."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from aiohttp import web
from sqlalchemy import text

from connectorhub.kit.masking import REDACTED
from connectorhub.kit.repository import WorkspaceScope
from tests.execution.test_endpoints import execute, install
from tests.fixtures.browser_session import sign_in
from tests.fixtures.third_party import ThirdParty

OTP = "otp-839201-nested"
PIN = "pin-nested-in-a-list"
TOKEN = 'tok"en\\wörd/echo?42'  # quotes, a backslash, non-ASCII: every escaped form differs


def nested_connector(api: ThirdParty) -> dict:
    return {
        "catalog_key": "http",
        "name": f"Nested {uuid.uuid4().hex[:6]}",
        "config": {"base_url": f"{api.url}/v1"},
        "definition": {
            "input_schema": {
                "type": "object",
                "properties": {
                    "user": {"type": "string"},
                    "nested": {
                        "type": "object",
                        "properties": {
                            "label": {"type": "string"},
                            "otp": {"type": "string", "writeOnly": True},
                        },
                    },
                    "devices": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "pin": {"type": "string", "format": "password"},
                            },
                        },
                    },
                },
            },
            "steps": [
                {
                    "name": "verify",
                    "method": "POST",
                    "url": "/verify",
                    "body": {"otp": "{{input.nested.otp}}", "pin": "{{input.devices[0].pin}}"},
                    "extract": {"ok": "$.ok"},
                }
            ],
            "output": {"ok": "{{steps.verify.ok}}", "label": "{{input.nested.label}}"},
        },
    }


async def stored_row(hub, workspace, execution_id: str) -> str:
    """The execution's row as the database holds it, every column, as text."""
    async with hub.work.transaction() as session:
        await WorkspaceScope.open(session, workspace.slug, "test")
        row = (
            await session.execute(
                text("SELECT * FROM connector_executions WHERE id = :id"),
                {
                    "id": uuid.UUID(execution_id)
                    if hub.engine.dialect.name == "postgresql"
                    else uuid.UUID(execution_id).hex
                },
            )
        ).one()
    return "\n".join(str(value) for value in row)


async def events_of(client, workspace, execution_id: str) -> str:
    lines = []
    async with client.stream(
        "GET", f"/api/executions/{execution_id}/events", headers=workspace.owner.headers
    ) as stream:
        async for line in stream.aiter_lines():
            lines.append(line)
    return "\n".join(lines)


async def execution_page(app, workspace, execution_id: str) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        await sign_in(browser, workspace.owner)
        return (await browser.get(f"/executions/{execution_id}")).text


async def every_view(client, app, hub, workspace, response, connector_id) -> dict[str, str]:
    execution_id = response.json()["id"]
    headers = workspace.owner.headers
    return {
        "execute response": response.text,
        "detail": (await client.get(f"/api/executions/{execution_id}", headers=headers)).text,
        "list": (
            await client.get(
                "/api/executions", params={"connector_id": connector_id}, headers=headers
            )
        ).text,
        "events": await events_of(client, workspace, execution_id),
        "page": await execution_page(app, workspace, execution_id),
        "database row": await stored_row(hub, workspace, execution_id),
    }


@pytest.mark.both_backends
async def test_nested_write_only_inputs_are_masked_everywhere_and_still_sent(
    client, app, hub, workspace, api
):
    api.json("/v1/verify", {"ok": True})
    connector = await install(client, workspace, nested_connector(api))
    run_input = {
        "user": "ada",
        "nested": {"label": "phone", "otp": OTP},
        "devices": [{"name": "key", "pin": PIN}, {"name": "spare"}],
    }
    response = await execute(client, workspace, connector["id"], run_input, wait="true")
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    assert execution["input"] == {
        "user": "ada",
        "nested": {"label": "phone", "otp": "********"},
        "devices": [{"name": "key", "pin": "********"}, {"name": "spare"}],
    }
    assert execution["output"] == {"ok": True, "label": "phone"}
    for where, shown in (
        await every_view(client, app, hub, workspace, response, connector["id"])
    ).items():
        assert OTP not in shown and PIN not in shown, where
        assert "phone" in shown, where  # the rest of the input is stored as it is
    # The run sent the real values.
    assert json.loads(api.hits_to("/v1/verify")[0].body) == {"otp": OTP, "pin": PIN}


def echo_connector(api: ThirdParty, *, output: dict | None) -> dict:
    definition: dict = {
        "credentials": ["echo"],
        "steps": [
            {
                "name": "hello",
                "url": "/hello",
                "auth": {"type": "bearer", "token": "{{workspace.echo}}"},
                "extract": {"greeting": "$.greeting", "shout": "$.shout"},
            },
            {
                "name": "again",
                "method": "POST",
                "url": "/again",
                "body": {"said": "{{steps.hello.greeting}}"},
                "extract": {"reply": "$.reply"},
            },
        ],
    }
    if output is not None:
        definition["output"] = output
    return {
        "catalog_key": "http",
        "name": f"Echo {uuid.uuid4().hex[:6]}",
        "config": {"base_url": f"{api.url}/v1"},
        "definition": definition,
    }


def play_an_echoing_api(api: ThirdParty) -> None:
    async def hello(request: web.Request) -> web.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        return web.json_response({"greeting": token, "shout": f"HELLO {token}!"})

    async def again(request: web.Request) -> web.Response:
        said = (await request.json())["said"]
        return web.json_response({"reply": f"you said {said}"})

    api.route("/v1/hello", hello)
    api.route("/v1/again", again)


async def add_credential(client, workspace, name: str, token: str) -> None:
    created = await client.post(
        "/api/credentials",
        json={"name": name, "kind": "bearer", "allowed_hosts": ["127.0.0.1"],
              "values": {"token": token}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text


@pytest.mark.both_backends
@pytest.mark.parametrize("output", [None, {"said": "{{steps.hello.greeting}}",
                                          "reply": "{{steps.again.reply}}"}])  # fmt: skip
async def test_a_token_echoed_into_an_innocent_field_is_masked_by_value(
    client, app, hub, workspace, api, output
):
    """The canonical attack: the third party reflects the bearer token into `greeting`."""
    play_an_echoing_api(api)
    await add_credential(client, workspace, "echo", TOKEN)
    connector = await install(client, workspace, echo_connector(api, output=output))
    response = await execute(client, workspace, connector["id"], {}, wait="true")
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    hello, again = execution["steps"]
    assert hello["extracted"] == {"greeting": REDACTED, "shout": f"HELLO {REDACTED}!"}
    assert again["extracted"] == {"reply": f"you said {REDACTED}"}
    if output is None:
        assert execution["output"]["hello"]["greeting"] == REDACTED
    else:
        assert execution["output"] == {"said": REDACTED, "reply": f"you said {REDACTED}"}
    forms = {TOKEN, json.dumps(TOKEN)[1:-1], 'tok\\"en'}
    for where, shown in (
        await every_view(client, app, hub, workspace, response, connector["id"])
    ).items():
        assert not any(form in shown for form in forms), where
    # The later step got the real value, not the mask.
    assert json.loads(api.hits_to("/v1/again")[0].body) == {"said": TOKEN}


@pytest.mark.both_backends
async def test_an_error_body_echoing_a_secret_escaped_masks_every_form(client, hub, workspace, api):
    """A 4xx whose body quotes the token JSON-escaped, URL-encoded and in a Basic header;
    a 5xx that echoes it raw right where the excerpt is cut."""
    from urllib.parse import quote

    async def refuse(request: web.Request) -> web.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        basic = base64.b64encode(f"me:{token}".encode()).decode()
        body = json.dumps({"error": "bad token", "token": token, "url": quote(token, safe=""),
                           "as_ascii": json.dumps(token)})  # fmt: skip
        return web.Response(
            text=body + f" Basic {basic} {base64.b64encode(token.encode()).decode()}",
            status=400,
            content_type="application/json",
        )

    async def cut(request: web.Request) -> web.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        return web.Response(text="x" * 290 + token, status=422)

    api.route("/v1/hello", refuse)
    api.route("/v1/cut", cut)
    await add_credential(client, workspace, "echo", TOKEN)
    connector = await install(client, workspace, echo_connector(api, output=None))
    failed = (await execute(client, workspace, connector["id"], {}, wait="true")).json()
    assert failed["status"] == "failed" and "answered 400" in failed["error"], failed
    assert REDACTED in failed["error"]
    escaped_forms = [
        TOKEN, json.dumps(TOKEN)[1:-1], json.dumps(TOKEN, ensure_ascii=False)[1:-1],
        repr(TOKEN)[1:-1], quote(TOKEN, safe=""), base64.b64encode(TOKEN.encode()).decode(),
        "wörd", "w\\u00f6rd", "w\\\\u00f6rd",
    ]  # fmt: skip
    stored = json.dumps(failed, ensure_ascii=False) + json.dumps(failed)
    for form in escaped_forms:
        assert form not in stored, form

    body = echo_connector(api, output=None)
    body["definition"]["steps"][0]["url"] = "/cut"
    cutting = await install(client, workspace, body)
    failed = (await execute(client, workspace, cutting["id"], {}, wait="true")).json()
    assert failed["status"] == "failed" and "answered 422" in failed["error"], failed
    assert 'tok"en' not in failed["error"]  # not even the secret's start


async def test_a_short_secret_in_the_url_path_is_not_recorded(client, hub, workspace, api):
    """Masking by value skips values too short to mask safely (3 characters here); a URL
    rendered from a secret input is recorded without its path and query instead."""
    api.json("/v1/cards/x9z/check", {"ok": True})
    connector = await install(client, workspace, {
        "catalog_key": "http", "name": f"Card {uuid.uuid4().hex[:6]}",
        "config": {"base_url": f"{api.url}/v1"},
        "definition": {
            "input_schema": {"type": "object",
                             "properties": {"cvv": {"type": "string", "writeOnly": True}}},
            "steps": [{"name": "check", "url": "/cards/{{input.cvv}}/check",
                       "extract": {"ok": "$.ok"}}],
            "output": {"ok": "{{steps.check.ok}}"},
        },
    })  # fmt: skip
    done = await execute(client, workspace, connector["id"], {"cvv": "x9z"}, wait="true")
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    assert api.hits_to("/v1/cards/x9z/check")  # sent as it should be
    assert done.json()["steps"][0]["request"]["url"] == f"{api.url.rstrip('/')}/{REDACTED}"
    assert "x9z" not in done.text and "x9z" not in await stored_row(
        hub, workspace, done.json()["id"]
    )
