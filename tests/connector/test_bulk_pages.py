"""The Installed tab's bulk actions as pages: selection controls for admins only, one
confirmation for a delete, a result per connector."""

from __future__ import annotations

import re

import httpx

from connectorhub.tenant.models import Role
from tests.connector.test_endpoints import create, twitter
from tests.fixtures.browser_session import hx, sign_in


def result_lines(html: str) -> list[str]:
    items = re.findall(r'data-testid="bulk-result".*?</li>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item.split(">", 1)[1]).split()) for item in items]


async def test_admins_get_selection_controls_viewers_and_members_none(
    browser, owner_csrf, client, workspace, app
):
    await create(client, workspace, twitter("Pick me"))
    page = await browser.get("/connectors/installed")
    assert 'data-testid="bulk-bar"' in page.text and 'data-testid="bulk-select"' in page.text
    for role in (Role.viewer, Role.member):
        member = await workspace.member(role)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as other:
            csrf = await sign_in(other, member)
            shown = await other.get("/connectors/installed")
            assert "Pick me" in shown.text
            assert "bulk-bar" not in shown.text and "bulk-select" not in shown.text
            refused = await other.post(
                "/connectors/bulk", data={"action": "delete", "ids": []}, headers=hx(csrf)
            )
            assert refused.status_code == 403


async def test_activate_says_which_failed_and_why(browser, owner_csrf, client, workspace):
    ready = await create(client, workspace, twitter("Ready one"))
    bare = await create(client, workspace, twitter("Bare one", auth={}))
    gone = await create(client, workspace, twitter("Gone one"))
    await client.delete(f"/api/connectors/{gone['id']}", headers=workspace.owner.headers)
    form = {
        "action": "activate",
        "ids": [ready["id"], bare["id"], gone["id"]],
        f"name.{gone['id']}": "Gone one",
    }
    response = await browser.post("/connectors/bulk", data=form, headers=hx(owner_csrf))
    assert response.status_code == 200
    assert "connectorsChanged" in response.headers["HX-Trigger"]
    assert "1 of 3 connectors activated; 2 refused" in response.text
    assert result_lines(response.text) == [
        "Ready one : now active.",
        "Bare one : The connector cannot be activated yet. auth.access_token Required before "
        "the connector can be activated.",
        "Gone one : not found: another admin may have deleted it.",
    ]


async def test_delete_asks_once_then_deletes_all(browser, owner_csrf, client, workspace):
    one = await create(client, workspace, twitter("Del one"))
    two = await create(client, workspace, twitter("Del two"))
    form = {"action": "delete", "ids": [one["id"], two["id"]],
            f"name.{one['id']}": "Del one", f"name.{two['id']}": "Del two"}  # fmt: skip
    asked = await browser.post("/connectors/bulk", data=form, headers=hx(owner_csrf))
    assert "Delete 2 connectors?" in asked.text and 'data-testid="bulk-confirm"' in asked.text
    assert "<li>Del one</li>" in asked.text and "<li>Del two</li>" in asked.text
    listed = await client.get("/api/installed", headers=workspace.owner.headers)
    assert listed.json()["total"] == 2  # nothing deleted before the confirmation
    done = await browser.post(
        "/connectors/bulk", data={**form, "confirmed": "yes"}, headers=hx(owner_csrf)
    )
    assert "2 of 2 connectors deleted" in done.text
    assert result_lines(done.text) == ["Del one : deleted.", "Del two : deleted."]
    listed = await client.get("/api/installed", headers=workspace.owner.headers)
    assert listed.json()["total"] == 0


async def test_form_problems_are_said_in_words(browser, owner_csrf, client, workspace):
    one = await create(client, workspace, twitter("Tag me"))
    nothing = await browser.post(
        "/connectors/bulk", data={"action": "activate"}, headers=hx(owner_csrf)
    )
    assert "Select between 1 and 100 connectors." in nothing.text
    untagged = await browser.post(
        "/connectors/bulk", data={"action": "add_tag", "ids": [one["id"]], "tag": " "},
        headers=hx(owner_csrf),
    )  # fmt: skip
    assert "Required for add_tag." in untagged.text
    tagged = await browser.post(
        "/connectors/bulk", data={"action": "add_tag", "ids": [one["id"]], "tag": "q4"},
        headers=hx(owner_csrf),
    )  # fmt: skip
    assert "1 of 1 connector tagged (q4)" in tagged.text
    shown = await client.get(f"/api/installed/{one['id']}", headers=workspace.owner.headers)
    assert shown.json()["tags"] == ["marketing", "social", "q4"]


async def test_the_filter_form_refetches_the_cards_with_any_status(
    browser, owner_csrf, client, workspace
):
    """After a bulk action the filter form fetches the cards again, "Any status" sent as ""."""
    await create(client, workspace, twitter("Refetched"))
    cards = await browser.get(
        "/connectors/installed", params={"search": "Refetch", "status": ""},
        headers=hx(target="cards"),
    )  # fmt: skip
    assert cards.status_code == 200
    assert 'data-name="Refetched"' in cards.text
