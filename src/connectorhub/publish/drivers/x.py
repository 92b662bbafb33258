"""X (API v2): `POST /2/tweets` with an OAuth 2.0 user token; images through `POST
/2/media/upload`; `thread` posts a reply chain. X sends no Retry-After on 429: the retry waits
until `x-rate-limit-reset`. A duplicate is refused for good, not retried."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from connectorhub.config import Settings
from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.outbound import Outbound
from connectorhub.publish.drivers.base import Account, PartlyPosted, Posted
from connectorhub.publish.drivers.http import Reply, call, fetch_image, maybe_done


class X:
    can_find = False

    def __init__(self, http: Outbound, config: dict[str, Any],
                 secrets: dict[str, Any], settings: Settings,
                 *, account: dict[str, Any] | None = None):  # fmt: skip
        self.http, self.base = http, settings.x_api_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {secrets['access_token']}"}
        self.media_limit = settings.publish_media_max_bytes
        self.known = account

    async def check_account(self) -> Account:
        reply = await self._call("GET", "/2/users/me")
        me = reply.json()["data"]
        return Account(
            id=str(me["id"]), name=me.get("name") or me["username"], handle=me["username"]
        )

    async def publish(self, content: dict[str, Any], marker: str) -> Posted:
        handle = (self.known or {}).get("handle") or (await self.check_account()).handle
        media_ids = [await self._upload(item) for item in content.get("media", [])]
        text = content["text"] + (f" {content['link']}" if content.get("link") else "")
        posted: list[str] = []
        for text_of_post in [text, *content.get("thread", [])]:
            body: dict[str, Any] = {"text": text_of_post}
            if media_ids and not posted:
                body["media"] = {"media_ids": media_ids}
            if posted:
                body["reply"] = {"in_reply_to_tweet_id": posted[-1]}
            try:
                reply = await self._call("POST", "/2/tweets", body=body)
            except (FatalError, RetriableError) as error:
                if not posted:
                    raise
                # Part of the thread is out: sending it again would repeat those posts.
                raise PartlyPosted(
                    f"the thread stopped after {len(posted)} of {1 + len(content.get('thread', []))} "
                    f"posts: {error.message}",
                    Posted(posted[0], f"https://x.com/{handle}/status/{posted[0]}"),
                ) from None
            posted.append(str(reply.json()["data"]["id"]))
        return Posted(post_id=posted[0], url=f"https://x.com/{handle}/status/{posted[0]}")

    async def find(self, marker: str) -> Posted | None:
        raise NotImplementedError("X posts carry no hidden marker to look an attempt up by")

    async def _upload(self, item: dict[str, Any]) -> str:
        media = await fetch_image(self.http, str(item["url"]), limit=self.media_limit)
        form = aiohttp.FormData()
        form.add_field(
            "media", media.content, filename=media.filename, content_type=media.content_type
        )
        form.add_field("media_category", "tweet_image")
        reply = await self._call("POST", "/2/media/upload", data=form)
        return str(reply.json()["data"]["id"])

    async def _call(self, method: str, path: str, *, body: Any = None, data: Any = None) -> Reply:
        reply = await call(self.http, method, f"{self.base}{path}", headers=self.headers,
                           body=body, data=data)  # fmt: skip
        if 200 <= reply.status < 300:
            return reply
        problem = reply.json() if reply.body.startswith(b"{") else {}
        detail = str(
            problem.get("detail")
            or problem.get("title")
            or reply.body[:300].decode("utf-8", "replace")
        )
        said = f"X answered {reply.status}: {detail}"
        if reply.status == 401:
            raise AuthFailed(f"{said} (the access token was refused)", status_code=401)
        if reply.status == 403 and "duplicate" in detail.lower():
            raise FatalError(f"X refused a duplicate post: {detail}", status_code=403)
        if reply.status == 403:
            raise AuthFailed(f"{said} (the token may not post: check its scopes)", status_code=403)
        if reply.status == 429 or reply.status >= 500:
            reset = reply.headers.get("x-rate-limit-reset", "")
            wait = max(0.0, int(reset) - time.time()) if reset.isdigit() else None
            raise RetriableError(said, status_code=reply.status, retry_after=wait,
                                 maybe_sent=maybe_done(reply.status))  # fmt: skip
        raise FatalError(said, status_code=reply.status)
