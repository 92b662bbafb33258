"""Members: owners change roles and remove; a workspace keeps at least one owner. Invitations:\ntests/tenant/test_invitations.py."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.tenant.models import Role


async def test_an_invite_is_a_pending_invitation_not_a_membership(client, workspace):
    email = f"new.person.{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/members",
        json={"email": email.replace("new.person", "New.Person"), "role": "viewer"},
        headers=workspace.owner.headers,
    )
    assert response.status_code == 201 and response.headers["cache-control"] == "no-store"
    invited = response.json()
    assert invited["email"] == email and invited["role"] == "viewer"
    assert invited["status"] == "invited" and invited["accept_path"] == f"/join/{invited['token']}"
    assert "initial_password" not in invited and "user_id" not in invited
    members = (await client.get("/api/members", headers=workspace.owner.headers)).json()
    assert {m["email"] for m in members} == {workspace.owner.email}
    pending = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    assert [(i["email"], i["role"]) for i in pending] == [(email, "viewer")]


async def test_change_role_and_remove(client, workspace):
    member = await workspace.member(Role.member)
    url = f"/api/members/{member.user_id}"
    changed = await client.patch(url, json={"role": "admin"}, headers=workspace.owner.headers)
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert (await client.delete(url, headers=workspace.owner.headers)).status_code == 204
    # A removed member's token no longer opens the workspace, not even after being re-added.
    assert (await client.get("/api/installed", headers=member.headers)).status_code == 401
    invited = await client.post(
        "/api/members", json={"email": member.email}, headers=workspace.owner.headers
    )
    assert invited.status_code == 201
    assert (await client.get("/api/installed", headers=member.headers)).status_code == 401


@pytest.mark.both_backends
async def test_last_owner_cannot_be_demoted_or_removed(client, workspace):
    url = f"/api/members/{workspace.owner.user_id}"
    assert (
        await client.patch(url, json={"role": "admin"}, headers=workspace.owner.headers)
    ).status_code == 409
    assert (await client.delete(url, headers=workspace.owner.headers)).status_code == 409


async def test_only_owners_manage_members(client, workspace):
    admin = await workspace.member(Role.admin)
    assert (await client.get("/api/members", headers=admin.headers)).status_code == 200
    response = await client.post(
        "/api/members", json={"email": "x@example.com"}, headers=admin.headers
    )
    assert response.status_code == 403
    assert (
        await client.delete(f"/api/members/{workspace.owner.user_id}", headers=admin.headers)
    ).status_code == 403


@pytest.mark.both_backends
async def test_members_of_another_workspace_are_404(client, workspace, other_workspace):
    url = f"/api/members/{other_workspace.owner.user_id}"
    assert (
        await client.patch(url, json={"role": "viewer"}, headers=workspace.owner.headers)
    ).status_code == 404
    assert (await client.delete(url, headers=workspace.owner.headers)).status_code == 404
