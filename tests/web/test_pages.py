"""Every page, as a full page and as the HTMX fragment it serves; sign-in, CSRF and roles."""

from __future__ import annotations

import re

import httpx
import pytest

from connectorhub.tenant.models import Role
from tests.connector.test_endpoints import SECRET, create, twitter
from tests.fixtures.browser_session import CSRF_FIELD, hx, sign_in


async def test_pages_need_a_session(browser):
    for path in [
        "/connectors/catalog",
        "/connectors/installed",
        "/settings/members",
        "/settings/tokens",
    ]:
        response = await browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith(
            "/login?next="
        )
    htmx = await browser.get("/connectors/installed", headers=hx())
    assert htmx.headers["HX-Redirect"] == "/login"


async def test_login_cookie_is_httponly_and_lax(browser, workspace):
    form = await browser.get("/login")
    token = CSRF_FIELD.search(form.text).group(1)
    response = await browser.post(
        "/login",
        data={
            "email": workspace.owner.email,
            "password": workspace.owner.password,
            "csrf_token": token,
        },
    )
    cookie = response.headers["set-cookie"]
    assert "chub_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; set when served over https


async def test_login_refuses_a_forged_form_and_wrong_password(browser, workspace):
    forged = await browser.post(
        "/login", data={"email": workspace.owner.email, "password": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    form = await browser.get("/login")
    token = CSRF_FIELD.search(form.text).group(1)
    wrong = await browser.post(
        "/login", data={"email": workspace.owner.email, "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 200 and "Wrong email or password." in wrong.text


async def test_repeated_failed_logins_are_slowed_down(browser, workspace):
    statuses = []
    for _ in range(7):
        form = await browser.get("/login")
        token = CSRF_FIELD.search(form.text).group(1)
        response = await browser.post(
            "/login", data={"email": workspace.owner.email, "password": "bad", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]


async def test_open_redirect_after_login_is_refused(browser, workspace):
    form = await browser.get("/login?next=//evil.example/x")
    token = CSRF_FIELD.search(form.text).group(1)
    response = await browser.post(
        "/login",
        data={
            "email": workspace.owner.email,
            "password": workspace.owner.password,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/connectors/catalog"


@pytest.mark.parametrize(
    ("path", "target", "marker"),
    [
        ("/connectors/catalog", None, "<html"),
        ("/connectors/catalog", "main", 'data-testid="tab-catalog"'),
        ("/connectors/catalog?search=word", "cards", 'data-key="wordpress"'),
        ("/connectors/installed", None, "<html"),
        ("/connectors/installed", "main", 'data-testid="tab-installed"'),
        ("/connectors/installed?status=active", "cards", "empty-installed"),
        ("/settings/members", None, "<html"),
        ("/settings/members", "members", 'data-testid="member-card"'),
        ("/settings/tokens", None, "<html"),
        ("/settings/tokens", "tokens", "token-card"),
        ("/connectors/add", "modal", 'data-testid="add-pick"'),
        ("/connectors/add/wordpress", "modal", 'name="config.base_url"'),
    ],
)
async def test_every_page_full_and_partial(browser, owner_csrf, path, target, marker):
    response = await browser.get(path, headers=hx(target=target) if target else {})
    assert response.status_code == 200, response.text
    assert marker in response.text
    assert ("<html" in response.text) == (target is None)


async def test_catalog_filters(browser, owner_csrf):
    social = await browser.get("/connectors/catalog?category=Social", headers=hx(target="cards"))
    keys = re.findall(r'data-testid="catalog-card" data-key="([^"]+)"', social.text)
    assert keys == ["linkedin", "twitter"]


async def test_form_coerces_types_from_the_schema(browser, owner_csrf, client, workspace):
    form = {
        "name": "Warehouse", "config.host": "db.internal", "config.port": "6543", "config.database": "sales",
        "config.filter_schemas": "public\nsales\n", "config.sslmode": "require",
        "auth.username": "reader", "auth.password": SECRET,
    }  # fmt: skip
    response = await browser.post("/connectors/add/postgres", data=form, headers=hx(owner_csrf))
    assert response.status_code == 200 and "HX-Location" in response.headers, response.text
    config = (await client.get("/api/installed", headers=workspace.owner.headers)).json()["items"][
        0
    ]["config"]
    assert config["port"] == 6543 and config["filter_schemas"] == ["public", "sales"]


async def test_edit_keeps_secrets_masked_and_update_secret_replaces(
    browser, owner_csrf, client, workspace, hub
):
    from tests.connector.test_endpoints import stored_secrets

    created = await create(client, workspace, twitter())
    edit = await browser.get(f"/connectors/{created['id']}/edit", headers=hx(target="modal"))
    assert SECRET not in edit.text and 'data-testid="secret-access_token"' in edit.text
    assert 'value="brand"' in edit.text
    replace = await browser.get(
        f"/connectors/{created['id']}/secret/access_token", headers=hx(target="modal")
    )
    assert 'name="auth.access_token"' in replace.text and "value=" not in replace.text
    saved = await browser.post(
        f"/connectors/{created['id']}/edit",
        data={"name": "Renamed", "config.account_label": "brand", "auth.access_token": "new-token"},
        headers=hx(owner_csrf, "modal"),
    )
    assert (
        saved.status_code == 200 and 'hx-swap-oob="true"' in saved.text and "Renamed" in saved.text
    )
    secrets = await stored_secrets(hub, workspace, created["id"])
    assert secrets == {"access_token": "new-token", "refresh_token": "refresh-" + SECRET}


async def test_status_and_delete_from_the_card(browser, owner_csrf, client, workspace):
    created = await create(client, workspace, twitter())
    active = await browser.post(
        f"/connectors/{created['id']}/status", data={"status": "active"}, headers=hx(owner_csrf)
    )
    assert 'data-status="active"' in active.text and "Deactivate" in active.text
    deleted = await browser.post(f"/connectors/{created['id']}/delete", headers=hx(owner_csrf))
    assert deleted.status_code == 200 and "deleted" in deleted.headers["HX-Trigger"]
    assert (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).status_code == 404


async def test_state_changes_need_the_csrf_token(browser, owner_csrf, client, workspace):
    created = await create(client, workspace, twitter())
    for headers in [hx(), hx("wrong-token")]:
        response = await browser.post(f"/connectors/{created['id']}/delete", headers=headers)
        assert response.status_code == 403
    assert (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).status_code == 200
    via_form_field = await browser.post(
        f"/connectors/{created['id']}/delete", data={"csrf_token": owner_csrf}
    )
    assert via_form_field.status_code == 200


async def test_viewer_sees_no_mutating_controls_and_a_forged_post_is_refused(
    app, client, workspace
):
    created = await create(client, workspace, twitter())
    viewer = await workspace.member(Role.viewer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        csrf = await sign_in(browser, viewer)
        for path in ["/connectors/catalog", "/connectors/installed", "/settings/members"]:
            page = (await browser.get(path)).text
            for control in [
                "add-connector",
                "Configure",
                "Activate",
                "Delete",
                "invite-form",
                'hx-post="/connectors',
            ]:
                assert control not in page, f"{control} shown to a viewer on {path}"
        forged = await browser.post(f"/connectors/{created['id']}/delete", headers=hx(csrf))
        assert forged.status_code == 403 and "admin role" in forged.headers["HX-Trigger"]
        forged_page = await browser.post(
            f"/connectors/{created['id']}/status", data={"status": "active", "csrf_token": csrf}
        )
        assert forged_page.status_code == 403 and "<html" in forged_page.text
    assert (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).json()["status"] == "inactive"


@pytest.mark.both_backends
async def test_another_workspaces_connector_is_404_in_pages(
    browser, owner_csrf, client, other_workspace
):
    theirs = await create(client, other_workspace, twitter())
    assert (await browser.get(f"/connectors/{theirs['id']}/edit")).status_code == 404
    response = await browser.post(f"/connectors/{theirs['id']}/delete", headers=hx(owner_csrf))
    assert response.status_code == 404


async def test_members_and_tokens_pages(browser, owner_csrf, workspace):
    invited = await browser.post(
        "/settings/members",
        data={"email": "newbie@example.com", "role": "viewer"},
        headers=hx(owner_csrf, "members"),
    )
    assert 'data-testid="invitation-link"' in invited.text and "newbie@example.com" in invited.text
    created = await browser.post(
        "/settings/tokens",
        data={"name": "deploy", "access": "read"},
        headers=hx(owner_csrf, "tokens"),
    )
    token = re.search(r'data-testid="token-value">(chub_[^<]+)<', created.text).group(1)
    listed = await browser.get("/settings/tokens", headers=hx(target="tokens"))
    assert "deploy" in listed.text and token not in listed.text  # shown once


async def test_switch_workspace_and_sign_out(
    browser, owner_csrf, workspace, other_workspace, client
):
    invited = await client.post(
        "/api/members",
        json={"email": workspace.owner.email, "role": "admin"},
        headers=other_workspace.owner.headers,
    )
    accepted = await client.post(
        "/api/me/invitations/accept", json={"token": invited.json()["token"]},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert accepted.status_code == 200, accepted.text
    page = await browser.get("/connectors/catalog")
    assert 'id="workspace-switch"' in page.text
    switched = await browser.post(
        "/workspace", data={"workspace": other_workspace.slug, "csrf_token": owner_csrf}
    )
    assert switched.status_code == 303
    assert "· admin" in (await browser.get("/connectors/catalog")).text
    refused = await browser.post(
        "/workspace", data={"workspace": "not-mine", "csrf_token": owner_csrf}
    )
    assert refused.status_code == 404
    out = await browser.post("/logout", data={"csrf_token": owner_csrf})
    assert out.status_code == 303
    assert (await browser.get("/connectors/catalog")).status_code == 303


async def test_owner_changes_roles_and_removes_members_from_the_page(
    browser, owner_csrf, workspace
):
    member = await workspace.member(Role.member)
    changed = await browser.post(
        f"/settings/members/{member.user_id}/role",
        data={"role": "admin"},
        headers=hx(owner_csrf, "members"),
    )
    assert changed.status_code == 200 and "is now admin" in changed.headers["HX-Trigger"]
    last_owner = await browser.post(
        f"/settings/members/{workspace.owner.user_id}/role",
        data={"role": "viewer"},
        headers=hx(owner_csrf, "members"),
    )
    assert "at least one owner" in last_owner.text  # shown in place; nothing changed
    removed = await browser.post(
        f"/settings/members/{member.user_id}/remove", headers=hx(owner_csrf, "members")
    )
    assert member.email not in removed.text


async def test_members_page_actions_are_owner_only(app, workspace):
    admin = await workspace.member(Role.admin)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        csrf = await sign_in(browser, admin)
        page = await browser.get("/settings/members")
        assert "invite-form" not in page.text and "/remove" not in page.text
        forged = await browser.post(
            f"/settings/members/{workspace.owner.user_id}/remove", headers=hx(csrf, "members")
        )
        assert forged.status_code == 403


async def test_revoke_a_token_from_the_page(browser, owner_csrf, client, workspace):
    created = (
        await client.post(
            "/api/tokens", json={"name": "to-revoke"}, headers=workspace.owner.headers
        )
    ).json()
    response = await browser.post(
        f"/settings/tokens/{created['id']}/revoke", headers=hx(owner_csrf, "tokens")
    )
    assert response.status_code == 200 and "to-revoke" not in response.text
    assert (
        await client.get("/api/me", headers={"Authorization": f"Bearer {created['token']}"})
    ).status_code == 401


async def test_non_ascii_csrf_is_refused_not_a_500(browser, owner_csrf, workspace):
    form = await browser.get("/login")
    assert form.status_code == 200
    login = await browser.post(
        "/login", data={"email": "x@example.com", "password": "x", "csrf_token": "é"}
    )
    assert login.status_code == 403
    forged = await browser.post(
        "/connectors/add/wordpress",
        data={"name": "x"},
        headers={"HX-Request": "true", "X-CSRF-Token": b"\xe9"},
    )
    assert forged.status_code == 403


async def test_a_refused_edit_changes_nothing(browser, owner_csrf, client, workspace):
    """The form is shown again with its errors (200), and the rename it carried is not saved."""
    created = await create(client, workspace, twitter("Keep my name"))
    await client.patch(
        f"/api/connectors/{created['id']}",
        json={"status": "active"},
        headers=workspace.owner.headers,
    )
    response = await browser.post(
        f"/connectors/{created['id']}/edit",
        data={"name": "Renamed", "config.account_label": "x"},  # too short: refused
        headers=hx(owner_csrf, "modal"),
    )
    assert response.status_code == 200 and "data-error-for" in response.text
    again = (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).json()
    assert again["name"] == "Keep my name" and again["config"]["account_label"] == "brand"


async def test_ui_edit_keeps_settings_the_form_cannot_show_and_edits_header_maps(
    browser, owner_csrf, client, workspace
):
    body = {"catalog_key": "http", "name": "Headers API",
            "config": {"base_url": "https://api.example.com", "default_headers": {"X-Env": "prod"}}}  # fmt: skip
    created = await create(client, workspace, body)
    edit = await browser.get(f"/connectors/{created['id']}/edit", headers=hx(target="modal"))
    assert "X-Env: prod" in edit.text
    saved = await browser.post(
        f"/connectors/{created['id']}/edit",
        data={"name": "Headers API", "config.base_url": "https://api.example.com", "config.timeout_seconds": "45",
              "config.default_headers": "X-Env: prod\nX-Team: data"},
        headers=hx(owner_csrf, "modal"),
    )  # fmt: skip
    assert saved.status_code == 200
    config = (
        await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    ).json()["config"]
    assert (
        config["default_headers"] == {"X-Env": "prod", "X-Team": "data"}
        and config["timeout_seconds"] == 45
    )


@pytest.mark.both_backends
async def test_removed_member_is_signed_out_of_every_browser(app, client, workspace):
    member = await workspace.member(Role.member)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        await sign_in(browser, member)
        await client.delete(f"/api/members/{member.user_id}", headers=workspace.owner.headers)
        invited = await client.post(
            "/api/members",
            json={"email": member.email, "role": "member"},
            headers=workspace.owner.headers,
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            form = await other.get(invited.json()["accept_path"])
            csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
            joined = await other.post(
                invited.json()["accept_path"],
                data={"password": member.password, "csrf_token": csrf},
            )
            assert joined.status_code == 303  # a member again, signed in anew there
        assert (
            await browser.get("/connectors/catalog")
        ).status_code == 303  # the old session does not revive


async def test_non_admins_list_only_their_own_tokens(client, workspace):
    viewer = await workspace.member(Role.viewer)
    listed = (await client.get("/api/tokens", headers=viewer.headers)).json()
    assert {t["user_id"] for t in listed} == {str(viewer.user_id)}
    own = listed[0]["id"]
    assert (await client.delete(f"/api/tokens/{own}", headers=viewer.headers)).status_code == 204


async def test_change_password_on_the_account_page(app, workspace):
    member = await workspace.member(Role.member)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        csrf = await sign_in(browser, member)
        assert "password-form" in (await browser.get("/settings/account")).text
        wrong = await browser.post(
            "/settings/account",
            data={
                "current_password": "nope",
                "new_password": "brand new password",
                "csrf_token": csrf,
            },
        )
        assert "That is not your current password." in wrong.text
        changed = await browser.post(
            "/settings/account",
            data={
                "current_password": member.password,
                "new_password": "brand new password",
                "csrf_token": csrf,
            },
        )
        assert 'data-testid="password-changed"' in changed.text
    member.password = "brand new password"
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fresh:
        await sign_in(fresh, member)  # the new password works


async def test_change_password_through_the_api(client, workspace):
    member = await workspace.member(Role.member)
    body = {"current_password": member.password, "new_password": "x"}
    assert (
        await client.post("/api/me/password", json=body, headers=member.headers)
    ).status_code == 400
    body["new_password"] = "long enough password"
    assert (
        await client.post("/api/me/password", json=body, headers=member.headers)
    ).status_code == 204
