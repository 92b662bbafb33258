"""POST /api/connectors/bulk: per-item results through the single-connector rules, isolation,
partial failure, limits and roles."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.tenant.models import Role
from tests.connector.test_endpoints import SECRET, create, twitter

BULK = "/api/connectors/bulk"


async def bulk(client, member, body: dict):
    return await client.post(BULK, json=body, headers=member.headers)


async def statuses(client, ws) -> dict[str, str]:
    listed = await client.get("/api/installed", headers=ws.owner.headers)
    return {c["name"]: c["status"] for c in listed.json()["items"]}


@pytest.mark.both_backends
async def test_activate_reports_each_item_and_one_refusal_does_not_undo_the_others(
    client, workspace, other_workspace
):
    ready = await create(client, workspace, twitter("Ready"))
    # No credentials: activating it is refused, as PUT {"status": "active"} would refuse it.
    bare = await create(client, workspace, twitter("Bare", auth={}))
    elsewhere = await create(client, other_workspace, twitter("Theirs"))
    unknown = str(uuid.uuid4())
    ids = [ready["id"], bare["id"], elsewhere["id"], unknown]
    response = await bulk(client, workspace.owner, {"action": "activate", "ids": ids})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == ids
    assert results[0] | {"warnings": []} == {
        "id": ready["id"], "ok": True, "name": "Ready", "status": "active", "deleted": False,
        "error": None, "errors": {}, "warnings": [],
    }  # fmt: skip
    assert results[1]["ok"] is False and results[1]["name"] == "Bare"
    assert results[1]["status"] == "inactive"
    assert results[1]["error"] == "the connector cannot be activated yet"
    assert results[1]["errors"] == {
        "auth.access_token": ["Required before the connector can be activated."]
    }
    # Another workspace's id answers exactly as an unknown one: nothing about it is revealed.
    for theirs in results[2:]:
        assert {k: theirs[k] for k in ("ok", "name", "status", "error")} == {
            "ok": False, "name": None, "status": None, "error": "not found",
        }  # fmt: skip
    assert await statuses(client, workspace) == {"Ready": "active", "Bare": "inactive"}
    assert await statuses(client, other_workspace) == {"Theirs": "inactive"}
    assert SECRET not in response.text


@pytest.mark.both_backends
async def test_tags_are_added_and_removed_and_audited_like_an_edit(client, workspace):
    one = await create(client, workspace, twitter("One", tags=["social"]))
    two = await create(client, workspace, twitter("Two", tags=["keep"]))
    ids = [one["id"], two["id"]]
    added = await bulk(client, workspace.owner, {"action": "add_tag", "ids": ids, "tag": " q4 "})
    assert [r["ok"] for r in added.json()["results"]] == [True, True]
    removed = await bulk(
        client, workspace.owner, {"action": "remove_tag", "ids": ids, "tag": "social"}
    )
    assert [r["ok"] for r in removed.json()["results"]] == [True, True]
    listed = (await client.get("/api/installed", headers=workspace.owner.headers)).json()
    assert {c["name"]: c["tags"] for c in listed["items"]} == {"One": ["q4"], "Two": ["keep", "q4"]}
    events = (
        await client.get(
            "/api/audit-events", params={"object_id": two["id"]}, headers=workspace.owner.headers
        )
    ).json()["items"]
    # "Two" had no "social" tag: removing it changed nothing, so nothing was recorded.
    assert [(e["action"], e["fields"]) for e in events][:1] == [("connector.updated", ["tags"])]
    assert len(events) == 2


async def test_a_tag_beyond_the_limit_is_that_items_error(client, workspace):
    full = await create(client, workspace, twitter("Full", tags=[f"t{i}" for i in range(20)]))
    spare = await create(client, workspace, twitter("Spare"))
    response = await bulk(
        client, workspace.owner, {"action": "add_tag", "ids": [full["id"], spare["id"]], "tag": "x"}
    )
    first, second = response.json()["results"]
    assert first["ok"] is False
    assert first["errors"] == {"tags": ["A connector has at most 20 tags."]}
    assert second["ok"] is True


async def test_delete_removes_each_and_says_which_were_gone(client, workspace):
    one = await create(client, workspace, twitter("Gone 1"))
    two = await create(client, workspace, twitter("Gone 2"))
    # Another admin deleted one of them first.
    await client.delete(f"/api/connectors/{two['id']}", headers=workspace.owner.headers)
    response = await bulk(
        client, workspace.owner, {"action": "delete", "ids": [one["id"], two["id"], one["id"]]}
    )
    results = response.json()["results"]
    assert [(r["id"], r["ok"], r["deleted"], r["error"]) for r in results] == [
        (one["id"], True, True, None),
        (two["id"], False, False, "not found"),
    ]
    assert await statuses(client, workspace) == {}
    events = (
        await client.get(
            "/api/audit-events", params={"object_id": "Gone 1"}, headers=workspace.owner.headers
        )
    ).json()["items"]
    assert [e["action"] for e in events] == ["connector.deleted", "connector.created"]


async def test_deactivate(client, workspace):
    live = await create(client, workspace, twitter("Live"))
    await client.patch(
        f"/api/connectors/{live['id']}", json={"status": "active"}, headers=workspace.owner.headers
    )
    response = await bulk(client, workspace.owner, {"action": "deactivate", "ids": [live["id"]]})
    assert response.json()["results"][0]["status"] == "inactive"
    assert await statuses(client, workspace) == {"Live": "inactive"}


async def test_a_tag_action_without_a_tag_is_400(client, workspace):
    one = await create(client, workspace, twitter("One"))
    response = await bulk(client, workspace.owner, {"action": "add_tag", "ids": [one["id"]]})
    assert response.status_code == 400
    assert response.json()["errors"] == {"tag": ["Required for add_tag."]}


@pytest.mark.parametrize(
    "body",
    [
        {"action": "activate", "ids": []},
        {"action": "activate", "ids": [str(uuid.uuid4()) for _ in range(101)]},
        {"action": "explode", "ids": [str(uuid.uuid4())]},
        {"action": "activate", "ids": ["not-a-uuid"]},
        {"action": "add_tag", "ids": [str(uuid.uuid4())], "tag": "x" * 51},
    ],
    ids=["no ids", "over 100 ids", "unknown action", "malformed id", "tag too long"],
)
async def test_malformed_bodies_are_422(client, workspace, body):
    response = await bulk(client, workspace.owner, body)
    assert response.status_code == 422


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_viewer_and_member_are_forbidden(client, workspace, role):
    one = await create(client, workspace, twitter("Mine"))
    member = await workspace.member(role)
    response = await bulk(client, member, {"action": "delete", "ids": [one["id"]]})
    assert response.status_code == 403
    assert await statuses(client, workspace) == {"Mine": "inactive"}


async def test_admin_may(client, workspace):
    one = await create(client, workspace, twitter("Mine"))
    admin = await workspace.member(Role.admin)
    response = await bulk(client, admin, {"action": "delete", "ids": [one["id"]]})
    assert response.json()["results"][0]["ok"] is True
