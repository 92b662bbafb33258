"""Publishing pages against the real WordPress: the card's Test shows who it posts as, the
composer counts the way the target counts and previews sanitised HTML, a post goes out in the
background and the publications page shows it with its link; a scheduled one can be cancelled.
The browser flow is in tests/e2e/test_publish_ui.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from tests.fixtures.browser_session import hx, sign_in
from tests.fixtures.wordpress import add_wordpress

pytestmark = [pytest.mark.slow, pytest.mark.wordpress]


async def _listed(browser, connector_id: str, *, until: str) -> str:
    for _ in range(100):
        page = (await browser.get(f"/publications?connector_id={connector_id}")).text
        if f'data-status="{until}"' in page:
            return page
        await asyncio.sleep(0.1)
    raise AssertionError(page)


async def test_test_compose_preview_publish_and_see_it(browser, client, workspace, wordpress):
    connector = await add_wordpress(client, workspace, wordpress, name="Page blog")
    cid = connector["id"]
    csrf = await sign_in(browser, workspace.owner)
    card = (await browser.get("/connectors/installed")).text
    assert "Not tested yet" in card and 'data-testid="publish-button"' in card
    tested = await browser.post(
        f"/connectors/{cid}/test-account", headers=hx(csrf, f"connector-{cid}")
    )
    assert tested.status_code == 200 and "Posts as <strong>editor</strong>" in tested.text
    assert "Signed in as editor" in tested.headers["HX-Trigger"]

    composer = await browser.get(f"/connectors/{cid}/publish", headers=hx(target="modal"))
    assert 'name="title"' in composer.text and 'name="html"' in composer.text
    assert 'name="markdown"' not in composer.text  # WordPress takes HTML
    preview = await browser.post(
        f"/connectors/{cid}/publish/preview", headers=hx(csrf, "publish-preview"),
        data={"text": "Héllo", "html": '<p onclick="steal()">Hi <script>alert(1)</script><b>there</b></p>'},
    )  # fmt: skip
    assert 'data-length="5"' in preview.text
    assert (
        "<b>there</b>" in preview.text
        and "script" not in preview.text
        and "onclick" not in preview.text
    )

    sent = await browser.post(
        f"/connectors/{cid}/publish", headers=hx(csrf, "modal"),
        data={"text": "From the page", "title": "Composer post", "tags": "Web, UI", "status": "publish", "when": "now"},
    )  # fmt: skip
    assert sent.status_code == 200 and "/publications?connector_id=" in sent.headers["HX-Location"]
    page = await _listed(browser, cid, until="published")
    assert "Composer post" in page and 'data-testid="post-link"' in page
    published = (
        await client.get(f"/api/publications?connector_id={cid}", headers=workspace.owner.headers)
    ).json()["items"][0]
    post = wordpress.get(f"wp/v2/posts/{published['provider_post_id']}", context="edit").json()
    assert post["title"]["raw"] == "Composer post" and len(post["tags"]) == 2


async def test_errors_come_back_into_the_composer_and_a_schedule_can_be_cancelled(
    browser, client, workspace, wordpress
):
    connector = await add_wordpress(client, workspace, wordpress, name="Sched blog")
    cid = connector["id"]
    csrf = await sign_in(browser, workspace.owner)
    refused = await browser.post(
        f"/connectors/{cid}/publish", headers=hx(csrf, "modal"),
        data={"text": "Hi", "markdown": "# no", "when": "now"},
    )  # fmt: skip
    assert "WordPress does not take markdown." in refused.text and 'value="Hi"' not in refused.text
    assert "Hi</textarea>" in refused.text  # what was typed is kept
    # Typed at 10:00 in a browser at UTC+2 (getTimezoneOffset -120) → 08:00 UTC.
    local = (datetime.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    scheduled = await browser.post(
        f"/connectors/{cid}/publish", headers=hx(csrf, "modal"),
        data={"text": "Later", "when": "schedule", "publish_at": local.strftime("%Y-%m-%dT%H:%M"), "tz_offset": "-120"},
    )  # fmt: skip
    assert scheduled.status_code == 200 and "Scheduled." in scheduled.headers["HX-Trigger"]
    shown = (
        await client.get(f"/api/publications?connector_id={cid}", headers=workspace.owner.headers)
    ).json()["items"][0]
    assert shown["status"] == "scheduled" and shown["publish_at"].startswith(
        local.strftime("%Y-%m-%dT08:00")
    )
    page = await _listed(browser, cid, until="scheduled")
    assert 'data-testid="cancel-button"' in page
    cancelled = await browser.post(f"/publications/{shown['id']}/cancel", headers=hx(csrf, "publication-list"),
                                   data={"connector_id": cid})  # fmt: skip
    assert (
        'data-status="cancelled"' in cancelled.text
        and "Cancelled." in cancelled.headers["HX-Trigger"]
    )


async def test_viewers_see_publications_but_cannot_publish(browser, client, workspace, wordpress):
    from connectorhub.tenant.models import Role

    connector = await add_wordpress(client, workspace, wordpress, name="Viewer blog")
    viewer = await workspace.member(Role.viewer)
    csrf = await sign_in(browser, viewer)
    assert (await browser.get("/publications")).status_code == 200
    card = (await browser.get("/connectors/installed")).text
    assert 'data-testid="publish-button"' not in card
    forged = await browser.post(
        f"/connectors/{connector['id']}/publish",
        headers=hx(csrf, "modal"),
        data={"text": "x", "when": "now"},
    )
    assert forged.status_code == 403
