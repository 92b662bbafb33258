"""X, LinkedIn and Medium, played by local servers answering with each provider's documented
shapes, status codes and rate-limit headers; the exact request each driver sent is checked."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiohttp import web

from tests.publish.test_wordpress import _png

X_ME = {"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers"}}


async def add(client, ws, key: str, config: dict, auth: dict, name: str) -> str:
    created = await client.post(
        "/api/connectors", headers=ws.owner.headers,
        json={"catalog_key": key, "name": name, "config": config, "auth": auth},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    activated = await client.patch(
        f"/api/connectors/{cid}", json={"status": "active"}, headers=ws.owner.headers
    )
    assert activated.status_code == 200, activated.text
    return cid


async def publish(client, ws, cid: str, body: dict):
    return await client.post(f"/api/connectors/{cid}/publish", json=body, headers=ws.owner.headers)


def sent(hit) -> dict:
    return json.loads(hit.body)


@pytest.fixture
def x_api(hub, api, monkeypatch):
    monkeypatch.setattr(hub.settings, "x_api_url", api.url)
    api.json("/2/users/me", X_ME)
    return api


async def test_x_posts_a_thread_with_an_image_as_replies(client, workspace, x_api):
    counter = iter(range(1, 10))

    async def tweet(request: web.Request) -> web.Response:
        return web.json_response(
            {"data": {"id": f"14458805484723281{next(counter)}", "text": "…"}}, status=201
        )

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=_png(), content_type="image/png")

    x_api.route("/2/tweets", tweet)
    x_api.json(
        "/2/media/upload",
        {"data": {"id": "1146654567674912769", "media_key": "3_1146654567674912769"}},
    )
    x_api.route("/pic.png", image)
    cid = await add(client, workspace, "twitter", {"account_label": "@xdev"},
                    {"access_token": "x-user-token"}, "X")  # fmt: skip
    tested = (
        await client.post(f"/api/connectors/{cid}/test", headers=workspace.owner.headers)
    ).json()
    assert tested == {
        "ok": True,
        "account": {"id": "2244994945", "name": "X Dev", "handle": "XDevelopers"},
        "error": None,
    }
    answered = await publish(client, workspace, cid, {
        "text": "Launch day 🚀", "thread": ["Part two", "Part three"],
        "media": [{"url": f"{x_api.url}/pic.png"}]})  # fmt: skip
    assert answered.status_code == 201, answered.text
    publication = answered.json()
    assert publication["provider_post_id"] == "144588054847232811"
    assert publication["url"] == "https://x.com/XDevelopers/status/144588054847232811"
    posts = x_api.hits_to("/2/tweets")
    assert [sent(p) for p in posts] == [
        {"text": "Launch day 🚀", "media": {"media_ids": ["1146654567674912769"]}},
        {"text": "Part two", "reply": {"in_reply_to_tweet_id": "144588054847232811"}},
        {"text": "Part three", "reply": {"in_reply_to_tweet_id": "144588054847232812"}},
    ]
    assert {p.headers["Authorization"] for p in posts} == {"Bearer x-user-token"}
    upload = x_api.hits_to("/2/media/upload")[0]
    assert b'name="media_category"' in upload.body and b"tweet_image" in upload.body
    assert _png() in upload.body and upload.headers["Authorization"] == "Bearer x-user-token"
    assert "Authorization" not in x_api.hits_to("/pic.png")[0].headers  # media fetched bare


async def test_x_too_long_is_refused_before_any_call(client, workspace, x_api):
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X long"
    )
    answered = await publish(
        client, workspace, cid, {"text": "x" * 270 + " https://example.com/" + "p" * 80 + "  y"}
    )
    assert answered.status_code == 400
    assert answered.json()["errors"] == {
        "text": ["X allows 280 characters; this has 297 (a URL counts as 23)."]
    }
    assert x_api.hits_to("/2/tweets") == []


async def test_x_rate_limit_waits_for_the_reset_and_a_duplicate_is_not_retried(
    client, workspace, x_api
):
    reset = int(time.time()) + 120
    x_api.json("/2/tweets", {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
               status=429, **{"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})  # fmt: skip
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X busy"
    )
    answered = await publish(client, workspace, cid, {"text": "Busy"})
    assert answered.status_code == 202, answered.text
    later = answered.json()
    assert (
        later["status"] == "scheduled"
        and later["attempts"] == 1
        and later["error_kind"] == "retriable"
    )
    from datetime import datetime

    waits = datetime.fromisoformat(later["publish_at"]).timestamp() - time.time()
    assert 100 < waits <= 121  # at X's reset time, not a guess
    x_api.json("/2/tweets", {"detail": "You are not allowed to create a Tweet with duplicate content.",
                             "type": "about:blank", "title": "Forbidden", "status": 403}, status=403)  # fmt: skip
    duplicate = await publish(client, workspace, cid, {"text": "Again"})
    assert duplicate.status_code == 400 and "duplicate" in duplicate.json()["detail"]
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "active"  # a duplicate is not a credentials problem


async def test_x_refused_token_sets_the_connector_to_error(client, workspace, x_api):
    x_api.json(
        "/2/tweets",
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
        status=401,
    )
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "old"}, "X old"
    )
    answered = await publish(client, workspace, cid, {"text": "Hi"})
    assert answered.status_code == 409 and answered.json()["publication"]["error_kind"] == "auth"
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "error" and "old" not in answered.text


async def test_linkedin_posts_escaped_commentary_with_an_article(
    client, workspace, hub, api, monkeypatch
):
    monkeypatch.setattr(hub.settings, "linkedin_api_url", api.url)
    api.json("/v2/userinfo", {"sub": "782bbtaQ", "name": "John Doe", "email": "doe@example.com"})

    async def post(request: web.Request) -> web.Response:
        return web.Response(status=201, headers={"x-restli-id": "urn:li:share:6844785523593134080"})

    api.route("/rest/posts", post)
    cid = await add(client, workspace, "linkedin", {"author_urn": "urn:li:person:782bbtaQ"},
                    {"access_token": "li-token"}, "LinkedIn")  # fmt: skip
    tested = (
        await client.post(f"/api/connectors/{cid}/test", headers=workspace.owner.headers)
    ).json()
    assert tested["account"] == {
        "id": "urn:li:person:782bbtaQ",
        "name": "John Doe",
        "handle": "doe@example.com",
    }
    answered = await publish(
        client,
        workspace,
        cid,
        {"text": "We (finally) shipped #v2 @ACME_corp", "link": "https://example.com/v2"},
    )
    assert answered.status_code == 201, answered.text
    assert (
        answered.json()["url"]
        == "https://www.linkedin.com/feed/update/urn:li:share:6844785523593134080/"
    )
    hit = api.hits_to("/rest/posts")[0]
    assert (
        hit.headers["LinkedIn-Version"] == "202611"
        and hit.headers["X-Restli-Protocol-Version"] == "2.0.0"
    )
    assert hit.headers["Authorization"] == "Bearer li-token"
    assert sent(hit) == {
        "author": "urn:li:person:782bbtaQ",
        "commentary": "We \\(finally\\) shipped \\#v2 \\@ACME\\_corp",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        "content": {
            "article": {"source": "https://example.com/v2", "title": "https://example.com/v2"}
        },
    }


async def test_medium_posts_as_the_token_owner_with_three_tags(
    client, workspace, hub, api, monkeypatch
):
    monkeypatch.setattr(hub.settings, "medium_api_url", api.url)
    api.json("/v1/me", {"data": {"id": "5303d74c64f66366f00cb9b2a94f3251bf5", "username": "majelbstoat",
                                 "name": "Jamie Talbot", "url": "https://medium.com/@majelbstoat"}})  # fmt: skip
    path = "/v1/users/5303d74c64f66366f00cb9b2a94f3251bf5/posts"
    api.json(path, {"data": {"id": "e6f36a", "title": "Liverpool FC", "authorId": "5303d74c64f66366f00cb9b2a94f3251bf5",
                             "url": "https://medium.com/@majelbstoat/liverpool-fc-e6f36a", "publishStatus": "public"}}, status=201)  # fmt: skip
    cid = await add(
        client,
        workspace,
        "medium",
        {"account_label": "@majelbstoat"},
        {"api_key": "medium-token"},
        "Medium",
    )
    too_many = await publish(client, workspace, cid, {"text": "x", "tags": ["a", "b", "c", "d"]})
    assert too_many.status_code == 400 and too_many.json()["errors"]["tags"] == [
        "Medium takes at most 3 tags; 4 were given."
    ]
    answered = await publish(client, workspace, cid, {
        "text": "ignored", "title": "Liverpool FC", "markdown": "# Liverpool FC\n\nYou will never walk alone — ünïcödé.",
        "tags": ["football", "sport", "Liverpool"], "status": "publish", "link": "http://jamietalbot.com/posts/liverpool-fc"})  # fmt: skip
    assert answered.status_code == 201, answered.text
    assert answered.json()["url"] == "https://medium.com/@majelbstoat/liverpool-fc-e6f36a"
    hit = api.hits_to(path)[-1]
    assert hit.headers["Authorization"] == "Bearer medium-token"
    assert sent(hit) == {
        "title": "Liverpool FC", "contentFormat": "markdown",
        "content": "# Liverpool FC\n\nYou will never walk alone — ünïcödé.",
        "tags": ["football", "sport", "Liverpool"], "publishStatus": "public",
        "canonicalUrl": "http://jamietalbot.com/posts/liverpool-fc",
    }  # fmt: skip


async def test_x_link_is_counted_with_the_text(client, workspace, x_api):
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X link"
    )
    answered = await publish(
        client, workspace, cid, {"text": "x" * 270, "link": "https://example.com/launch"}
    )
    assert answered.status_code == 400  # 270 + a space + 23: X would refuse it after the call
    assert answered.json()["errors"]["text"] == [
        "X allows 280 characters; this has 294 (a URL counts as 23)."
    ]


async def test_x_connection_dropped_after_sending_ends_unknown_and_never_reposts(
    client, workspace, x_api
):
    async def drop(request: web.Request) -> web.Response:
        await request.read()
        request.transport.close()  # the post may well have been made: X cannot be asked
        return web.Response(status=201)

    x_api.route("/2/tweets", drop)
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X drop"
    )
    answered = await publish(client, workspace, cid, {"text": "Maybe"})
    assert answered.status_code == 409, answered.text
    publication = answered.json()["publication"]
    assert publication["status"] == "unknown" and "cannot be asked" in publication["error"]
    assert len(x_api.hits_to("/2/tweets")) == 1
    notes = (await client.get("/api/notifications", headers=workspace.owner.headers)).json()[
        "items"
    ]
    assert any("publication unknown" in n["title"] for n in notes)
    retried = await client.post(
        f"/api/publications/{publication['id']}/retry", headers=workspace.owner.headers
    )
    assert retried.status_code == 202  # the user checked the account and asks for it again
    # The retry goes out on the in-process worker: wait for it, or it would post to the next
    # test's server (the session hub's X address is that test's by then).
    for _ in range(200):
        shown = await client.get(
            f"/api/publications/{publication['id']}", headers=workspace.owner.headers
        )
        if shown.json()["status"] not in ("scheduled", "sending"):
            break
        await asyncio.sleep(0.05)
    assert len(x_api.hits_to("/2/tweets")) == 2


async def test_a_thread_cut_short_keeps_what_went_out_and_refuses_a_retry(client, workspace, x_api):
    x_api.sequence("/2/tweets", (201, {"data": {"id": "111", "text": "one"}}, {}),
                   (400, {"title": "Invalid Request", "detail": "Bad reply", "status": 400}, {}))  # fmt: skip
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X thread"
    )
    answered = await publish(client, workspace, cid, {"text": "one", "thread": ["two"]})
    publication = answered.json()["publication"]
    assert publication["status"] == "failed" and publication["provider_post_id"] == "111"
    assert "stopped after 1 of 2 posts" in publication["error"]
    retried = await client.post(
        f"/api/publications/{publication['id']}/retry", headers=workspace.owner.headers
    )
    assert retried.status_code == 409 and "already out" in retried.json()["detail"]


async def test_addresses_the_operator_did_not_open_are_refused_before_connecting(
    client, workspace, x_api
):
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://10.255.255.1/cover.png")

    x_api.route("/cover.png", redirect)
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X ssrf"
    )
    for media in (
        "http://10.255.255.1/cover.png",
        "http://169.254.169.254/latest",
        f"{x_api.url}/cover.png",
    ):
        refused = await publish(client, workspace, cid, {"text": "pic", "media": [{"url": media}]})
        assert refused.status_code == 400 and "refused" in refused.json()["detail"], refused.text
    assert x_api.hits_to("/2/tweets") == []


async def test_a_time_without_a_zone_is_malformed(client, workspace, x_api):
    cid = await add(
        client, workspace, "twitter", {"account_label": "@xdev"}, {"access_token": "t"}, "X naive"
    )
    answered = await publish(
        client, workspace, cid, {"text": "later", "publish_at": "2099-01-01T00:00:00"}
    )
    assert answered.status_code == 422


async def test_wordpress_5xx_after_sending_is_looked_up_before_posting_again(
    client, workspace, api, hub
):
    """A WordPress answering 502 to the create (it may have saved the post): the next attempt
    searches by marker and finds the post instead of making a second."""
    made: list[dict] = []

    async def root(request: web.Request) -> web.Response:
        return web.json_response({"namespaces": ["wp/v2"]})

    async def posts(request: web.Request) -> web.Response:
        if request.method == "POST":
            made.append(await request.json())
            return web.json_response({"code": "bad_gateway", "message": "Bad Gateway"}, status=502)
        marker = request.query["search"]
        found = [p for p in made if marker in p["content"]]
        return web.json_response(
            [
                {"id": 5, "link": f"{api.url}/saved/", "content": {"raw": p["content"]}}
                for p in found
            ]
        )

    api.route("/wp-json/", root)
    api.route("/wp-json/wp/v2/posts", posts)
    cid = await add(client, workspace, "wordpress", {"base_url": api.url, "site_label": "Flaky"},
                    {"username": "editor", "password": "app pass"}, "Flaky WP")  # fmt: skip
    answered = await publish(client, workspace, cid, {"text": "Saved anyway", "title": "Flaky"})
    assert answered.status_code == 202, answered.text
    publication_id = answered.json()["id"]
    from connectorhub.publish.tasks import publish_publication

    async with hub.work.workspace(workspace.slug, "test") as scope:  # its retry time is now
        from connectorhub.publish.repository import PublicationRepository

        row = await PublicationRepository(scope).get_for_update(uuid.UUID(publication_id))
        row.publish_at = row.created_at
    await publish_publication(hub.context, workspace.slug, publication_id)
    shown = (
        await client.get(f"/api/publications/{publication_id}", headers=workspace.owner.headers)
    ).json()
    # One send counted: the second attempt only looked the post up.
    assert (
        shown["status"] == "published"
        and shown["provider_post_id"] == "5"
        and shown["attempts"] == 1
    )
    assert len(made) == 1  # looked up, not posted again
