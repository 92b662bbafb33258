"""The builder's page routes: the wizard for admins only, and its check, test, preview and save
calls answering with the API's error paths."""

from __future__ import annotations

import json
import uuid

from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import sign_in
from tests.fixtures.third_party import ThirdParty


def definition() -> dict:
    return {
        "input_schema": {"type": "object", "properties": {"user": {"type": "integer"}}},
        "steps": [{"name": "profile", "url": "/users/{{input.user}}", "extract": {"name": "$.name"}}],
    }  # fmt: skip


def headers(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


async def test_the_wizard_opens_for_admins_with_a_new_draft(browser, owner_csrf):
    page = await browser.get("/connectors/build")
    assert page.status_code == 200
    assert "Build an HTTP connector" in page.text and "data-builder" in page.text
    for tab in ("1. Basics", "2. Requests", "3. Response mapping", "4. Input &amp; output",
                "5. Test run", "6. Save", "JSON"):  # fmt: skip
        assert tab in page.text


async def test_members_may_not_open_the_wizard(browser, workspace):
    member = await workspace.member(Role.member)
    await sign_in(browser, member)
    assert (await browser.get("/connectors/build")).status_code == 403


async def test_an_existing_connector_opens_with_its_draft(browser, owner_csrf, client, workspace):
    name = f"Edited {uuid.uuid4().hex[:6]}"
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "http", "name": name, "config": {"base_url": "https://api.example.com"},
              "definition": definition()},
        headers=workspace.owner.headers,
    )  # fmt: skip
    page = await browser.get(f"/connectors/{created.json()['id']}/build")
    assert page.status_code == 200 and f"Edit requests of {name}" in page.text
    assert "/users/{{input.user}}" in page.text  # in the draft the page carries
    assert (await browser.get(f"/connectors/{uuid.uuid4()}/build")).status_code == 404


async def test_another_workspaces_or_a_non_http_connector_is_404(
    browser, owner_csrf, client, other_workspace
):
    theirs = await client.post(
        "/api/connectors",
        json={"catalog_key": "http", "name": f"Theirs {uuid.uuid4().hex[:6]}",
              "config": {"base_url": "https://api.example.com"}},
        headers=other_workspace.owner.headers,
    )  # fmt: skip
    assert (await browser.get(f"/connectors/{theirs.json()['id']}/build")).status_code == 404


async def test_check_answers_the_paths_saving_would(browser, owner_csrf):
    draft = definition()
    draft["steps"][0]["url"] = "/users/{{input.nobody}}"
    draft["steps"].append({"name": "bad name", "url": "/x"})
    response = await browser.post(
        "/connectors/build/check",
        json={"definition": draft, "config": {"base_url": "ftp://x"}},
        headers=headers(owner_csrf),
    )
    assert response.status_code == 200
    assert set(response.json()["errors"]) == {"definition.steps[1].name", "config.base_url"}
    draft["steps"].pop()
    response = await browser.post(
        "/connectors/build/check",
        json={"definition": draft, "config": {"base_url": "https://api.example.com"}},
        headers=headers(owner_csrf),
    )
    assert response.json()["errors"] == {
        "definition.steps[0].url": ["{{input.nobody}}: unknown input name 'nobody'"]
    }


async def test_check_needs_the_csrf_token(browser, owner_csrf):
    response = await browser.post(
        "/connectors/build/check", json={"definition": definition(), "config": {}}
    )
    assert response.status_code == 403


async def test_the_test_run_streams_each_step_then_the_result(browser, owner_csrf, api: ThirdParty):
    api.json("/users/7", {"name": "Ada"})
    response = await browser.post(
        "/connectors/build/test",
        json={"definition": definition(), "config": {"base_url": api.url}, "input": {"user": 7}},
        headers=headers(owner_csrf),
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [(m["event"], m.get("step", {}).get("status")) for m in lines] == [
        ("step", "running"), ("step", "succeeded"), ("result", None),
    ]  # fmt: skip
    assert lines[1]["step"]["response"] == {"name": "Ada"}
    assert lines[2]["result"]["status"] == "succeeded"
    assert lines[2]["result"]["output"] == {"profile": {"name": "Ada"}}
    assert api.hits[0].path == "/users/7"


async def test_a_refused_test_run_answers_the_error_map(browser, owner_csrf, api):
    response = await browser.post(
        "/connectors/build/test",
        json={"definition": definition(), "config": {"base_url": api.url}, "input": {"user": "x"}},
        headers=headers(owner_csrf),
    )
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()["errors"]) == {"input.user"} and api.hits == []


async def test_preview_evaluates_a_jsonpath(browser, owner_csrf):
    async def preview(path: str) -> dict:
        document = {"items": [{"id": 1}, {"id": 2}], "total": 2}
        response = await browser.post(
            "/connectors/build/preview",
            json={"path": path, "document": document},
            headers=headers(owner_csrf),
        )
        return response.json()

    assert await preview("$.total") == {"value": 2, "found": True}
    assert await preview("$.items[*].id") == {"value": [1, 2], "found": True}
    assert await preview("$.missing") == {"found": False}
    assert "error" in await preview("$[?")


async def test_save_creates_and_activates_or_names_each_problem(
    browser, owner_csrf, client, workspace
):
    name = f"Saved {uuid.uuid4().hex[:6]}"
    body = {"name": "", "config": {"base_url": "https://api.example.com"},
            "definition": definition(), "activate": True}  # fmt: skip
    refused = await browser.post("/connectors/build/save", json=body, headers=headers(owner_csrf))
    assert set(refused.json()["errors"]) == {"name"}
    body["name"] = name
    body["definition"]["steps"][0]["extract"] = {"name": "$[?"}
    refused = await browser.post("/connectors/build/save", json=body, headers=headers(owner_csrf))
    assert set(refused.json()["errors"]) == {"definition.steps[0].extract.name"}
    listed = await client.get(f"/api/connectors?search={name}", headers=workspace.owner.headers)
    assert listed.json()["total"] == 0  # nothing was left behind

    body["definition"] = definition()
    saved = await browser.post("/connectors/build/save", json=body, headers=headers(owner_csrf))
    assert saved.json()["status"] == "active", saved.text
    connector = (
        await client.get(f"/api/installed/{saved.json()['id']}", headers=workspace.owner.headers)
    ).json()
    assert connector["name"] == name and connector["catalog_key"] == "http"
    assert connector["definition"]["steps"][0]["url"] == "/users/{{input.user}}"

    body.update(connector_id=connector["id"], activate=True)
    body["definition"]["steps"][0]["url"] = "/people/{{input.user}}"
    edited = await browser.post("/connectors/build/save", json=body, headers=headers(owner_csrf))
    assert edited.json()["status"] == "active"
    body["activate"] = False  # the box unticked: deactivated
    edited = await browser.post("/connectors/build/save", json=body, headers=headers(owner_csrf))
    assert edited.json()["status"] == "inactive"
    connector = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert connector["definition"]["steps"][0]["url"] == "/people/{{input.user}}"
