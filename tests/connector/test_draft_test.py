"""`POST /api/connectors/test`: a connector tested before it is saved. Sources run the slow
tap's real discovery (tests/fixtures/slow_tap.py), publishers the account check against a local
server playing WordPress; nothing is stored, no secret comes back, and only admins may."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.tenant.models import Role
from tests.fixtures.wordpress_users import play_wordpress

PASSWORD = "draft-pass-5ecr3t"


def source_draft(**config) -> dict:
    return {"catalog_key": "slow", "config": {"rows": 3, **config},
            "auth": {"username": "reader", "password": PASSWORD}}  # fmt: skip


async def nothing_stored(client, workspace) -> None:
    headers = workspace.owner.headers
    listed = (await client.get("/api/installed", headers=headers)).json()
    assert listed["total"] == 0
    notified = (await client.get("/api/notifications", headers=headers)).json()
    assert notified["total"] == 0


@pytest.mark.tap
async def test_a_source_draft_is_discovered_and_nothing_is_stored(
    client, workspace, slow_tap_entry
):
    tested = await client.post(
        "/api/connectors/test", json=source_draft(), headers=workspace.owner.headers
    )
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["ok"] is True and answer["error"] is None
    assert [s["name"] for s in answer["streams"]] == ["public-orders"]
    assert answer["streams"][0]["replication_keys"] == ["id"]
    await nothing_stored(client, workspace)


@pytest.mark.tap
async def test_a_failed_source_draft_shows_the_taps_words_with_secrets_masked(
    client, workspace, slow_tap_entry
):
    # `leak`: the tap prints its whole config (the password in it) and fails as refused.
    tested = await client.post(
        "/api/connectors/test", json=source_draft(leak="discover"),
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["ok"] is False and answer["error_kind"] == "auth"
    assert answer["error"] == "FATAL: password authentication failed for user 'reader'"
    assert "[redacted]" in answer["stderr_tail"]
    assert PASSWORD not in tested.text
    await nothing_stored(client, workspace)


def wordpress_draft(url: str, password: str) -> dict:
    return {"catalog_key": "wordpress", "config": {"base_url": url, "site_label": "Draft blog"},
            "auth": {"username": "editor", "password": password}}  # fmt: skip


async def test_a_publisher_draft_signs_in_and_says_as_whom(client, workspace, api):
    play_wordpress(api, "editor", PASSWORD)
    tested = await client.post(
        "/api/connectors/test", json=wordpress_draft(api.url, PASSWORD),
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert tested.status_code == 200, tested.text
    assert tested.json() == {
        "ok": True, "account": {"id": "7", "name": "Editor Ed", "handle": "editor"}, "error": None,
    }  # fmt: skip
    assert api.hits_to("/wp-json/wp/v2/users/me")  # the provider was really asked
    await nothing_stored(client, workspace)


async def test_a_refused_publisher_draft_gives_the_providers_words_and_stores_nothing(
    client, workspace, api
):
    play_wordpress(api, "editor", "the right one")
    tested = await client.post(
        "/api/connectors/test", json=wordpress_draft(api.url, PASSWORD),
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["ok"] is False and answer["account"] is None
    assert "invalid application password" in answer["error"]
    assert PASSWORD not in tested.text
    # A refused draft changes no connector's status and tells nobody: there is none yet.
    await nothing_stored(client, workspace)


async def test_an_invalid_draft_is_the_installs_error_map(client, workspace):
    tested = await client.post(
        "/api/connectors/test",
        json={"catalog_key": "wordpress", "config": {"base_url": "not a url", "site_label": "x"},
              "auth": {"username": "editor", "colour": "blue"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert tested.status_code == 400
    errors = tested.json()["errors"]
    assert errors["config.base_url"] == ["Must be a full URL, such as https://example.com."]
    assert errors["config.site_label"] == ["Must be at least 2 characters."]
    assert errors["auth.colour"] == ["Unknown auth field for basic auth."]
    assert errors["auth.password"] == ["Required to test the connection."]


async def test_what_cannot_be_tested_before_saving_says_why(client, workspace):
    headers = workspace.owner.headers
    http = await client.post("/api/connectors/test", json={"catalog_key": "http"}, headers=headers)
    assert http.status_code == 400 and "connector builder" in http.json()["detail"]
    oauth = await client.post(
        "/api/connectors/test", json={"catalog_key": "twitter", "config": {"account_label": "@me"}},
        headers=headers,
    )  # fmt: skip
    assert oauth.status_code == 400 and "Connect with X" in oauth.json()["detail"]
    unknown = await client.post(
        "/api/connectors/test", json={"catalog_key": f"nope-{uuid.uuid4().hex[:6]}"},
        headers=headers,
    )  # fmt: skip
    assert unknown.status_code == 400 and "catalog_key" in unknown.json()["errors"]


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_only_admins_test_drafts(client, workspace, api, role):
    play_wordpress(api, "editor", PASSWORD)
    someone = await workspace.member(role)
    tested = await client.post(
        "/api/connectors/test", json=wordpress_draft(api.url, PASSWORD), headers=someone.headers
    )
    assert tested.status_code == 403
    assert api.hits == []  # refused before anything was called
