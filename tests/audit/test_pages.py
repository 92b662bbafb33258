"""The audit log page: admins only, in the Settings menu for them, filtered like the API, field
names and never values, and the Configure modal's History link to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from connectorhub.tenant.models import Role
from tests.connector.test_endpoints import SECRET, create, twitter
from tests.fixtures.browser_session import hx, sign_in


def shown_events(html: str) -> list[tuple[str, str]]:
    """(action, object) of each event shown."""
    return re.findall(
        r'data-testid="audit-event" data-action="([^"]+)".*?data-testid="audit-object">([^<]+)<',
        html,
        re.S,
    )


async def test_the_log_filters_and_never_shows_values(browser, owner_csrf, client, workspace):
    made = await create(client, workspace, twitter("Audited"))
    await create(client, workspace, twitter("Bystander"))
    await client.patch(
        f"/api/connectors/{made['id']}",
        json={"config": {"account_label": "label-value-42"}, "auth": {"access_token": SECRET}},
        headers=workspace.owner.headers,
    )
    page = await browser.get("/settings/audit")
    assert page.status_code == 200
    assert shown_events(page.text)[:3] == [
        ("connector.updated", "Audited"),
        ("connector.created", "Bystander"),
        ("connector.created", "Audited"),
    ]
    assert 'data-testid="audit-field">auth.access_token</code>' in page.text
    assert SECRET not in page.text and "label-value-42" not in page.text
    assert workspace.owner.email in page.text  # who, by email
    by_name = await browser.get(
        "/settings/audit", params={"object": "Audited"}, headers=hx(target="audit-events")
    )
    assert "<html" not in by_name.text
    assert shown_events(by_name.text) == [
        ("connector.updated", "Audited"),
        ("connector.created", "Audited"),
    ]
    assert "2 events" in by_name.text
    updated = await browser.get(
        "/settings/audit", params={"action": "connector.updated", "actor": str(workspace.owner.user_id)},
    )  # fmt: skip
    assert shown_events(updated.text) == [("connector.updated", "Audited")]
    today, every = datetime.now(UTC).date(), len(shown_events(page.text))
    for since, until, count in [(today, today, every), (today + timedelta(days=1), "", 0),
                                ("", today - timedelta(days=1), 0)]:  # fmt: skip
        found = await browser.get(  # an empty field of the form comes as ""
            "/settings/audit", params={"since": str(since), "until": str(until), "tz_offset": "0"}
        )
        assert found.status_code == 200, found.text
        assert len(shown_events(found.text)) == count, (since, until)


async def test_admins_find_it_in_the_settings_menu_others_cannot_open_it(
    browser, owner_csrf, workspace, app
):
    catalog = await browser.get("/connectors/catalog")
    assert 'href="/settings/audit"' in catalog.text
    for role in (Role.viewer, Role.member):
        member = await workspace.member(role)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as other:
            await sign_in(other, member)
            assert 'href="/settings/audit"' not in (await other.get("/connectors/catalog")).text
            assert (await other.get("/settings/audit")).status_code == 403


async def test_configure_links_to_the_connectors_history(browser, owner_csrf, client, workspace):
    made = await create(client, workspace, twitter("With history"))
    modal = await browser.get(f"/connectors/{made['id']}/edit", headers=hx(target="modal"))
    link = f'href="/settings/audit?object={made["id"]}"'
    assert link in modal.text and "History" in modal.text
    history = await browser.get(f"/settings/audit?object={made['id']}")
    assert shown_events(history.text) == [("connector.created", "With history")]
