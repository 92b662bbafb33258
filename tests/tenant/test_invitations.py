"""Invitations: an owner offers a role to an email; a membership exists only once its invitee
accepts (signed in, or by the link with a password), and the answer to the invite tells nothing
about whether the email has an account."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import CSRF_FIELD, hx, sign_in


async def invite(client, inviter, email: str, role: str = "member") -> dict:
    response = await client.post(
        "/api/members", json={"email": email, "role": role}, headers=inviter.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def member_emails(client, workspace) -> set[str]:
    members = (await client.get("/api/members", headers=workspace.owner.headers)).json()
    return {m["email"] for m in members}


@pytest.mark.both_backends
async def test_an_existing_account_joins_only_when_it_accepts(client, workspace, other_workspace):
    theirs = other_workspace.owner
    invited = await invite(client, workspace.owner, theirs.email, "admin")
    assert theirs.email not in await member_emails(client, workspace)

    for_them = (await client.get("/api/me/invitations", headers=theirs.headers)).json()
    assert [(i["id"], i["workspace_id"], i["role"]) for i in for_them] == [
        (invited["id"], workspace.slug, "admin")
    ]
    accepted = await client.post(
        f"/api/me/invitations/{invited['id']}/accept", headers=theirs.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        "workspace_id": workspace.slug, "workspace_name": accepted.json()["workspace_name"],
        "role": "admin",
    }  # fmt: skip
    members = (await client.get("/api/members", headers=workspace.owner.headers)).json()
    assert {m["email"]: m["role"] for m in members}[theirs.email] == "admin"
    # Their own token still works in their own workspace, and the invitation is used up.
    assert (await client.get("/api/installed", headers=theirs.headers)).status_code == 200
    again = await client.post(f"/api/me/invitations/{invited['id']}/accept", headers=theirs.headers)
    assert again.status_code == 409
    assert (await client.get("/api/invitations", headers=workspace.owner.headers)).json() == []


@pytest.mark.both_backends
async def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    client, workspace, other_workspace
):
    existing = await invite(client, workspace.owner, other_workspace.owner.email)
    new = await invite(client, workspace.owner, f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    assert set(existing) == set(new)
    assert {k: v for k, v in existing.items() if k not in {"id", "email", "token", "accept_path",
            "created_at", "expires_at"}} == {"role": "member", "status": "invited"}  # fmt: skip
    assert {k: v for k, v in new.items() if k not in {"id", "email", "token", "accept_path",
            "created_at", "expires_at"}} == {"role": "member", "status": "invited"}  # fmt: skip


async def test_declined_and_revoked_invitations_cannot_be_accepted(
    client, workspace, other_workspace
):
    theirs = other_workspace.owner
    declined = await invite(client, workspace.owner, theirs.email)
    answer = await client.post(
        f"/api/me/invitations/{declined['id']}/decline", headers=theirs.headers
    )
    assert answer.status_code == 204
    late = await client.post(f"/api/me/invitations/{declined['id']}/accept", headers=theirs.headers)
    assert late.status_code == 409 and "declined" in late.json()["detail"]
    revoked = await invite(client, workspace.owner, theirs.email)
    assert (
        await client.delete(f"/api/invitations/{revoked['id']}", headers=workspace.owner.headers)
    ).status_code == 204
    late = await client.post(f"/api/me/invitations/{revoked['id']}/accept", headers=theirs.headers)
    assert late.status_code == 409 and "revoked" in late.json()["detail"]
    assert theirs.email not in await member_emails(client, workspace)
    # Inviting again replaces a pending invitation rather than stacking them.
    first = await invite(client, workspace.owner, theirs.email)
    second = await invite(client, workspace.owner, theirs.email)
    pending = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    assert [i["id"] for i in pending] == [second["id"]] and first["id"] != second["id"]


@pytest.mark.both_backends
async def test_an_invitation_is_its_invitee_and_its_workspace_alone(
    client, workspace, other_workspace
):
    stranger = other_workspace.owner
    invited = await invite(client, workspace.owner, f"someone-{uuid.uuid4().hex[:8]}@example.com")
    # Not addressed to them: 404 to accept, absent from their list.
    url = f"/api/me/invitations/{invited['id']}"
    assert (await client.post(f"{url}/accept", headers=stranger.headers)).status_code == 404
    assert (await client.get("/api/me/invitations", headers=stranger.headers)).json() == []
    # Another workspace's owner neither lists nor revokes it.
    assert (await client.get("/api/invitations", headers=stranger.headers)).json() == []
    assert (
        await client.delete(f"/api/invitations/{invited['id']}", headers=stranger.headers)
    ).status_code == 404
    admin = await workspace.member(Role.admin)
    assert (await client.get("/api/invitations", headers=admin.headers)).status_code == 403


def _new_browser(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _join(browser: httpx.AsyncClient, path: str, password: str) -> httpx.Response:
    form = await browser.get(path)
    assert form.status_code == 200 and 'data-testid="join-form"' in form.text
    csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
    return await browser.post(path, data={"password": password, "csrf_token": csrf})


async def test_a_new_email_joins_by_its_link_with_the_password_it_chooses(app, client, workspace):
    email = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"
    invited = await invite(client, workspace.owner, email, "viewer")
    async with _new_browser(app) as browser:
        answered = await _join(browser, invited["accept_path"], "a brand new secret")
        assert answered.status_code == 303, answered.text
        page = await browser.get("/connectors/catalog")
        assert page.status_code == 200 and f"{email} · viewer" in page.text
    assert email in await member_emails(client, workspace)
    async with _new_browser(app) as stranger:
        used = await stranger.get(invited["accept_path"])
    assert used.status_code == 404 and 'data-testid="join-invalid"' in used.text


@pytest.mark.both_backends
async def test_an_existing_account_joins_by_its_link_only_with_its_own_password(
    app, client, workspace, other_workspace
):
    theirs = other_workspace.owner
    invited = await invite(client, workspace.owner, theirs.email, "admin")
    async with _new_browser(app) as browser:
        wrong = await _join(browser, invited["accept_path"], "not their password")
        assert wrong.status_code == 400 and 'data-testid="join-error"' in wrong.text
    assert theirs.email not in await member_emails(client, workspace)
    async with _new_browser(app) as browser:
        right = await _join(browser, invited["accept_path"], theirs.password)
        assert right.status_code == 303
        page = await browser.get("/connectors/catalog")
        assert f"{theirs.email} · admin" in page.text  # signed in to the workspace joined
    members = (await client.get("/api/members", headers=workspace.owner.headers)).json()
    assert {m["email"]: m["role"] for m in members}[theirs.email] == "admin"


@pytest.fixture
async def browser(app):
    async with _new_browser(app) as client:
        yield client


async def test_owners_invite_and_revoke_and_invitees_accept_in_the_pages(
    app, browser, client, workspace, other_workspace
):
    owner_csrf = await sign_in(browser, workspace.owner)
    theirs = other_workspace.owner
    invited = await browser.post(
        "/settings/members", data={"email": theirs.email, "role": "viewer"},
        headers=hx(owner_csrf, "members"),
    )  # fmt: skip
    assert invited.headers["cache-control"] == "no-store"
    link = re.search(r'data-testid="invitation-link">([^<]+)<', invited.text).group(1)
    assert re.fullmatch(r"http://testserver/join/[\w-]{40,}", link)
    assert 'data-testid="pending-invitation"' in invited.text
    assert theirs.email not in await member_emails(client, workspace)

    async with _new_browser(app) as invitee:
        csrf = await sign_in(invitee, theirs)
        listed = await invitee.get("/settings/invitations")
        match = re.search(r"/settings/invitations/([0-9a-f-]{36})/accept", listed.text)
        assert match and 'data-testid="your-invitation"' in listed.text
        accepted = await invitee.post(
            f"/settings/invitations/{match.group(1)}/accept", headers=hx(csrf, "invitations")
        )
        assert accepted.status_code == 200 and "You joined" in accepted.headers["HX-Trigger"]
        assert 'data-testid="no-invitations"' in accepted.text
    assert theirs.email in await member_emails(client, workspace)

    await browser.post(
        "/settings/members", data={"email": "later@example.com", "role": "viewer"},
        headers=hx(owner_csrf, "members"),
    )  # fmt: skip
    pending = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    revoked = await browser.post(
        f"/settings/members/invitations/{pending[0]['id']}/revoke",
        headers=hx(owner_csrf, "members"),
    )
    assert "Invitation revoked" in revoked.headers["HX-Trigger"]
    assert (await client.get("/api/invitations", headers=workspace.owner.headers)).json() == []
