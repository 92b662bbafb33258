"""Invitations: an owner offers a role to an email; a membership exists only once its invitee
accepts (signed in, or by the link with a password), and the answer to the invite tells nothing
about whether the email has an account."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from connectorhub.tenant.models import Role
from tests.fixtures.browser_session import CSRF_FIELD, CSRF_HEADER, hx, sign_in


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

    accepted = await client.post(
        "/api/me/invitations/accept", json={"token": invited["token"]}, headers=theirs.headers
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
    again = await client.post(
        "/api/me/invitations/accept", json={"token": invited["token"]}, headers=theirs.headers
    )
    assert again.status_code == 404  # used up
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
    answer = {"token": declined["token"]}
    refused = await client.post("/api/me/invitations/decline", json=answer, headers=theirs.headers)
    assert refused.status_code == 204
    late = await client.post("/api/me/invitations/accept", json=answer, headers=theirs.headers)
    assert late.status_code == 404
    revoked = await invite(client, workspace.owner, theirs.email)
    assert (
        await client.delete(f"/api/invitations/{revoked['id']}", headers=workspace.owner.headers)
    ).status_code == 204
    late = await client.post(
        "/api/me/invitations/accept", json={"token": revoked["token"]}, headers=theirs.headers
    )
    assert late.status_code == 404
    again = await client.delete(
        f"/api/invitations/{revoked['id']}", headers=workspace.owner.headers
    )
    assert again.status_code == 409 and "revoked" in again.json()["detail"]
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
    # Even with the link's token, an invitation addressed to someone else is not theirs.
    answer = {"token": invited["token"]}
    taken = await client.post("/api/me/invitations/accept", json=answer, headers=stranger.headers)
    assert taken.status_code == 404
    # Another workspace's owner neither lists nor revokes it.
    assert (await client.get("/api/invitations", headers=stranger.headers)).json() == []
    assert (
        await client.delete(f"/api/invitations/{invited['id']}", headers=stranger.headers)
    ).status_code == 404
    admin = await workspace.member(Role.admin)
    assert (await client.get("/api/invitations", headers=admin.headers)).status_code == 403


async def test_a_read_only_token_cannot_answer_an_invitation(client, workspace, other_workspace):
    reader = await other_workspace.member(Role.owner, scopes=("read",))
    invited = await invite(client, workspace.owner, reader.email)
    answer = {"token": invited["token"]}
    refused = await client.post("/api/me/invitations/accept", json=answer, headers=reader.headers)
    assert refused.status_code == 403
    assert reader.email not in await member_emails(client, workspace)


@pytest.mark.both_backends
async def test_an_account_made_by_another_inviter_cannot_take_an_invitation(
    app, client, workspace, other_workspace
):
    """The owner of B invites an email nobody has signed up with and chooses its password by the
    link; when A later invites that email, B's owner, signed in as it, still cannot join A: only
    A's link answers A's invitation, and no list shows it."""
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    squatted = await invite(client, other_workspace.owner, victim, "member")
    async with _new_browser(app) as squatter:
        assert (await _join(squatter, squatted["accept_path"], "chosen by b")).status_code == 303
        csrf = CSRF_HEADER.search((await squatter.get("/connectors/catalog")).text).group(1)
        made = await squatter.post(
            "/settings/tokens", data={"name": "mine", "access": "write"},
            headers=hx(csrf, "tokens"),
        )  # fmt: skip
        token = re.search(r'data-testid="token-value">(chub_[^<]+)<', made.text).group(1)
    as_victim = {"Authorization": f"Bearer {token}"}
    real = await invite(client, workspace.owner, victim, "admin")
    # Nothing lists it, and what it can be named by other than its link's token takes nothing.
    assert (await client.get("/api/me/invitations", headers=as_victim)).status_code == 404
    for guess in (real["id"], squatted["token"], workspace.slug):
        taken = await client.post(
            "/api/me/invitations/accept", json={"token": guess}, headers=as_victim
        )
        assert taken.status_code == 404, guess
    assert victim not in await member_emails(client, workspace)
    pending = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    assert [i["email"] for i in pending] == [victim]


@pytest.mark.both_backends
async def test_a_short_password_is_refused_alike_with_or_without_an_account(
    app, client, workspace, other_workspace
):
    existing = await invite(client, workspace.owner, other_workspace.owner.email)
    new = await invite(client, workspace.owner, f"fresh-{uuid.uuid4().hex[:8]}@example.com")
    answers = []
    for invited in (existing, new):
        async with _new_browser(app) as browser:
            answered = await _join(browser, invited["accept_path"], "short")
            answers.append(
                (answered.status_code, re.sub(r"[\w.+-]+@[\w.-]+", "@", _error(answered)))
            )
    assert answers[0] == answers[1] and answers[0][0] == 400
    assert "at least 8 characters" in answers[0][1]
    assert new["email"] not in await member_emails(client, workspace)


def _error(page: httpx.Response) -> str:
    found = re.search(r'data-testid="join-error">([^<]*)<', page.text)
    assert found, page.text
    return found.group(1)


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


@pytest.mark.parametrize("suffix", ["local", "internal", "lan", "test"])
async def test_an_email_on_an_internal_domain_is_invited_joins_and_signs_in(
    app, client, workspace, suffix
):
    email = f"ops-{uuid.uuid4().hex[:8]}@corp.{suffix}"
    invited = await invite(client, workspace.owner, email, "viewer")
    assert invited["email"] == email
    async with _new_browser(app) as browser:
        assert (
            await _join(browser, invited["accept_path"], "a brand new secret")
        ).status_code == 303
    assert email in await member_emails(client, workspace)
    async with _new_browser(app) as browser:
        form = await browser.get("/login")
        csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
        login = {"email": email, "password": "a brand new secret", "csrf_token": csrf}
        assert (await browser.post("/login", data=login)).status_code == 303


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


async def test_owners_invite_and_revoke_in_the_pages(
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
    async with _new_browser(app) as invitee:  # the link, as the owner sends it to them
        joined = await _join(invitee, link.removeprefix("http://testserver"), theirs.password)
        assert joined.status_code == 303
    assert theirs.email in await member_emails(client, workspace)

    await browser.post(
        "/settings/members", data={"email": "later@example.com", "role": "viewer"},
        headers=hx(owner_csrf, "members"),
    )  # fmt: skip
    pending = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    later = next(i["id"] for i in pending if i["email"] == "later@example.com")
    revoked = await browser.post(
        f"/settings/members/invitations/{later}/revoke", headers=hx(owner_csrf, "members")
    )
    assert "Invitation revoked" in revoked.headers["HX-Trigger"]
    assert 'data-email="later@example.com"' not in revoked.text
    left = (await client.get("/api/invitations", headers=workspace.owner.headers)).json()
    assert left == []
