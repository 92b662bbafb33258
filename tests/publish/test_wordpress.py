"""Publishing to a real WordPress (Debian's package under `php -S`, on the local MariaDB):
what the hub posts is read back from WordPress itself."""

from __future__ import annotations

import asyncio
import html
import struct
import zlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web

from tests.fixtures.wordpress import add_wordpress, wordpress_site

pytestmark = [pytest.mark.slow, pytest.mark.wordpress]


def _png() -> bytes:
    """A real PNG of one pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


async def publish(client, ws, cid: str, body: dict, **headers: str):
    return await client.post(
        f"/api/connectors/{cid}/publish", json=body, headers={**ws.owner.headers, **headers}
    )


async def test_the_publisher_test_shows_who_signs_in(client, workspace, wordpress):
    connector = await add_wordpress(client, workspace, wordpress)
    tested = await client.post(
        f"/api/connectors/{connector['id']}/test", headers=workspace.owner.headers
    )
    assert tested.status_code == 200
    assert tested.json()["ok"] is True and tested.json()["account"]["name"] == "editor"
    shown = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["account"] == tested.json()["account"]
    targets = (await client.get("/api/publish-targets", headers=workspace.owner.headers)).json()
    target = next(t for t in targets if t["id"] == connector["id"])
    assert target["account"]["handle"] == "editor" and target["ready"] is True


async def test_a_post_with_html_unicode_tags_and_categories_is_in_wordpress(
    client, workspace, wordpress
):
    connector = await add_wordpress(client, workspace, wordpress)
    body = {
        "text": "ignored when html is given",
        "title": "Grüße ☃ from ConnectorHub 🚀",
        "html": "<p>Hello <strong>world</strong> — ünïcödé 😀</p>",
        "tags": ["Launch", "ConnectorHub"], "categories": ["News"], "status": "publish",
        "link": "https://example.com/more",
    }  # fmt: skip
    answered = await publish(client, workspace, connector["id"], body)
    assert answered.status_code == 201, answered.text
    publication = answered.json()
    assert publication["status"] == "published" and publication["attempts"] == 1
    post = wordpress.get(f"wp/v2/posts/{publication['provider_post_id']}", context="edit").json()
    assert post["status"] == "publish" and post["link"] == publication["url"]
    assert post["title"]["raw"] == body["title"]
    assert "<strong>world</strong> — ünïcödé 😀" in post["content"]["raw"]
    assert '<a href="https://example.com/more">' in post["content"]["raw"]
    tags = {wordpress.get(f"wp/v2/tags/{t}").json()["name"] for t in post["tags"]}
    assert tags == {"Launch", "ConnectorHub"}
    assert [
        html.unescape(wordpress.get(f"wp/v2/categories/{c}").json()["name"])
        for c in post["categories"]
    ] == ["News"]
    again = await publish(client, workspace, connector["id"], {**body, "title": "Second"})
    second = wordpress.get(f"wp/v2/posts/{again.json()['provider_post_id']}", context="edit").json()
    assert second["tags"] == post["tags"]  # existing tags are reused by name, not duplicated


async def test_text_becomes_paragraphs_and_the_connector_default_status_applies(
    client, workspace, wordpress
):
    connector = await add_wordpress(
        client, workspace, wordpress, name="Drafts", default_status="draft"
    )
    answered = await publish(client, workspace, connector["id"], {"text": "One <b>&\n\nTwo"})
    assert answered.status_code == 201, answered.text
    post = wordpress.get(
        f"wp/v2/posts/{answered.json()['provider_post_id']}", context="edit"
    ).json()
    assert post["status"] == "draft"
    assert post["content"]["raw"].startswith("<p>One &lt;b&gt;&amp;</p>\n<p>Two</p>")


async def test_media_becomes_the_featured_image(client, workspace, wordpress, api):
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=_png(), content_type="image/png")

    api.route("/cat.png", image)
    connector = await add_wordpress(client, workspace, wordpress)
    body = {
        "text": "With a picture",
        "title": "Picture",
        "media": [{"url": f"{api.url}/cat.png", "alt": "A cat"}],
    }
    answered = await publish(client, workspace, connector["id"], body)
    assert answered.status_code == 201, answered.text
    post = wordpress.get(
        f"wp/v2/posts/{answered.json()['provider_post_id']}", context="edit"
    ).json()
    media = wordpress.get(f"wp/v2/media/{post['featured_media']}", context="edit").json()
    assert media["mime_type"] == "image/png" and media["alt_text"] == "A cat"

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    api.route("/page.html", page)
    refused = await publish(
        client, workspace, connector["id"], {**body, "media": [{"url": f"{api.url}/page.html"}]}
    )
    assert refused.status_code == 400 and "not an image" in refused.json()["detail"]


@pytest.mark.both_backends
async def test_twenty_identical_requests_post_once(client, workspace, wordpress):
    connector = await add_wordpress(client, workspace, wordpress)
    body = {"text": "Exactly once", "title": "Idempotent"}
    answers = await asyncio.gather(*[
        publish(client, workspace, connector["id"], body, **{"Idempotency-Key": "launch-1"})
        for _ in range(20)
    ])  # fmt: skip
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1, [a.text for a in answers]
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert {a.json()["status"] for a in answers} == {"published"}
    publication_id = ids.pop()
    found = wordpress.get("wp/v2/posts", search=f"connectorhub:publication:{publication_id}",
                          context="edit", status="publish,draft").json()  # fmt: skip
    assert len(found) == 1


@pytest.mark.both_backends
async def test_a_scheduled_publication_goes_out_at_its_time(client, workspace, wordpress):
    connector = await add_wordpress(client, workspace, wordpress)
    at = datetime.now(UTC) + timedelta(seconds=2)
    answered = await publish(
        client,
        workspace,
        connector["id"],
        {"text": "Later", "title": "Scheduled", "publish_at": at.isoformat()},
    )
    assert answered.status_code == 202 and answered.json()["status"] == "scheduled"
    publication_id = answered.json()["id"]
    for _ in range(200):
        shown = (
            await client.get(f"/api/publications/{publication_id}", headers=workspace.owner.headers)
        ).json()
        if shown["status"] != "scheduled" and shown["status"] != "sending":
            break
        await asyncio.sleep(0.1)
    assert shown["status"] == "published", shown
    assert datetime.fromisoformat(shown["published_at"]) >= at
    assert (
        wordpress.get(f"wp/v2/posts/{shown['provider_post_id']}", context="edit").json()["title"][
            "raw"
        ]
        == "Scheduled"
    )


async def test_cancel_a_scheduled_one_and_it_never_posts(client, workspace, wordpress):
    connector = await add_wordpress(client, workspace, wordpress)
    at = datetime.now(UTC) + timedelta(seconds=3)
    answered = await publish(
        client, workspace, connector["id"], {"text": "Never", "publish_at": at.isoformat()}
    )
    publication_id = answered.json()["id"]
    cancelled = await client.post(
        f"/api/publications/{publication_id}/cancel", headers=workspace.owner.headers
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(
        f"/api/publications/{publication_id}/cancel", headers=workspace.owner.headers
    )
    assert again.status_code == 409
    await asyncio.sleep(3.5)
    shown = (
        await client.get(f"/api/publications/{publication_id}", headers=workspace.owner.headers)
    ).json()
    assert shown["status"] == "cancelled" and shown["attempts"] == 0
    listed = (
        await client.get(
            f"/api/publications?connector_id={connector['id']}&status=cancelled",
            headers=workspace.owner.headers,
        )
    ).json()
    assert [p["id"] for p in listed["items"]] == [publication_id]


async def test_a_user_who_may_not_publish_is_told_and_the_connector_goes_to_error(
    client, workspace, wordpress
):
    connector = await add_wordpress(
        client, workspace, wordpress, user="contributor", password=wordpress.contributor_password
    )
    tested = await client.post(
        f"/api/connectors/{connector['id']}/test", headers=workspace.owner.headers
    )
    assert tested.json()["ok"] is False
    assert "may not publish posts (role: contributor)" in tested.json()["error"]
    shown = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["status"] == "error"
    notes = (await client.get("/api/notifications", headers=workspace.owner.headers)).json()[
        "items"
    ]
    assert any("credentials were refused" in n["title"] for n in notes)


async def test_a_refused_application_password_fails_without_retrying(client, workspace, wordpress):
    connector = await add_wordpress(
        client, workspace, wordpress, password="abcd efgh ijkl mnop qrst uvwx"
    )
    answered = await publish(
        client, workspace, connector["id"], {"text": "Nope", "title": "Refused"}
    )
    assert answered.status_code == 409, answered.text
    failed = answered.json()["publication"]
    assert (
        failed["status"] == "failed" and failed["error_kind"] == "auth" and failed["attempts"] == 1
    )
    assert "abcd efgh" not in answered.text
    shown = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["status"] == "error"
    blocked = await publish(client, workspace, connector["id"], {"text": "Again"})
    assert blocked.status_code == 409 and "activate it" in blocked.json()["detail"]


async def test_plain_permalinks_are_found_through_rest_route(client, workspace):
    with wordpress_site(pretty_permalinks=False) as plain:
        connector = await add_wordpress(client, workspace, plain, name="Plain")
        answered = await publish(
            client, workspace, connector["id"], {"text": "Plain", "title": "Plain"}
        )
        assert answered.status_code == 201, answered.text
        assert plain.get(f"wp/v2/posts/{answered.json()['provider_post_id']}").status_code == 200


@pytest.mark.both_backends
async def test_another_workspaces_publication_is_a_404(
    client, workspace, other_workspace, wordpress
):
    connector = await add_wordpress(client, workspace, wordpress, name="Mine")
    answered = await publish(client, workspace, connector["id"], {"text": "Mine", "title": "Mine"})
    publication_id = answered.json()["id"]
    theirs = other_workspace.owner.headers
    for method, path in [("GET", f"/api/publications/{publication_id}"),
                         ("POST", f"/api/publications/{publication_id}/cancel"),
                         ("POST", f"/api/publications/{publication_id}/retry"),
                         ("POST", f"/api/connectors/{connector['id']}/publish"),
                         ("POST", f"/api/connectors/{connector['id']}/test")]:  # fmt: skip
        body = {"text": "theirs"} if path.endswith("/publish") else None
        refused = await client.request(method, path, headers=theirs, json=body)
        assert refused.status_code == 404, (path, refused.text)
    listed = (await client.get("/api/publications", headers=theirs)).json()
    assert listed["total"] == 0


async def test_a_revoked_application_password_fails_and_says_so(client, workspace, wordpress):
    editor = ("editor", wordpress.editor_password)
    made = httpx.post(
        f"{wordpress.url}/?rest_route=/wp/v2/users/me/application-passwords",
        json={"name": "to revoke"}, auth=editor, timeout=30,
    ).json()  # fmt: skip
    connector = await add_wordpress(
        client, workspace, wordpress, name="Revoked", password=made["password"]
    )
    first = await publish(client, workspace, connector["id"], {"text": "Before", "title": "Before"})
    assert first.status_code == 201, first.text
    revoked = httpx.delete(
        f"{wordpress.url}/?rest_route=/wp/v2/users/me/application-passwords/{made['uuid']}",
        auth=editor, timeout=30,
    )  # fmt: skip
    assert revoked.status_code == 200
    after = await publish(client, workspace, connector["id"], {"text": "After", "title": "After"})
    assert after.status_code == 409, after.text
    assert "application password was refused" in after.json()["detail"]
    shown = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["status"] == "error"
