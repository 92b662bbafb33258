"""Medium: `POST /v1/users/{authorId}/posts` (or into a publication) with an integration token.
Medium no longer issues new integration tokens; existing ones keep working. At most three tags
are used; `publishStatus` is public, draft or unlisted."""

from __future__ import annotations

from typing import Any

from connectorhub.config import Settings
from connectorhub.kit.outbound import Outbound
from connectorhub.publish.drivers.base import Account, Posted
from connectorhub.publish.drivers.http import Reply, call, raise_for

MAX_TAGS = 3
_STATUS = {"publish": "public", "draft": "draft"}


class Medium:
    can_find = False

    def __init__(self, http: Outbound, config: dict[str, Any],
                 secrets: dict[str, Any], settings: Settings,
                 *, account: dict[str, Any] | None = None):  # fmt: skip
        self.http, self.base, self.config = http, settings.medium_api_url.rstrip("/"), config
        self.known = account
        self.headers = {
            "Authorization": f"Bearer {secrets['api_key']}",
            "Accept": "application/json",
        }

    async def check_account(self) -> Account:
        me = (await self._call("GET", "/v1/me")).json()["data"]
        return Account(
            id=me["id"], name=me.get("name") or me["username"], handle=me.get("username")
        )

    async def publish(self, content: dict[str, Any], marker: str) -> Posted:
        if content.get("html"):
            body_format, body = "html", content["html"]
        elif content.get("markdown"):
            body_format, body = "markdown", content["markdown"]
        else:
            body_format, body = (
                self.config.get("default_content_format", "markdown"),
                content["text"],
            )
        lines = content["text"].strip().splitlines()
        title = content.get("title") or (lines[0][:100] if lines else "Untitled")
        post: dict[str, Any] = {
            "title": title, "contentFormat": body_format, "content": body,
            "tags": (content.get("tags") or self.config.get("default_tags") or [])[:MAX_TAGS],
            "publishStatus": _STATUS.get(content.get("status") or "", self.config.get("default_publish_status", "draft")),
        }  # fmt: skip
        if content.get("link"):
            post["canonicalUrl"] = content["link"]
        if self.config.get("publication_id"):
            path = f"/v1/publications/{self.config['publication_id']}/posts"
        else:
            author = (self.known or {}).get("id") or (await self.check_account()).id
            path = f"/v1/users/{author}/posts"
        made = (await self._call("POST", path, body=post)).json()["data"]
        return Posted(post_id=str(made["id"]), url=made.get("url"))

    async def find(self, marker: str) -> Posted | None:
        raise NotImplementedError("Medium's API cannot list a user's posts to look an attempt up")

    async def _call(self, method: str, path: str, *, body: Any = None) -> Reply:
        reply = await call(self.http, method, f"{self.base}{path}", headers=self.headers, body=body)
        if 200 <= reply.status < 300:
            return reply
        problem = reply.json() if reply.body.startswith(b"{") else {}
        raise_for("Medium", reply, str((problem.get("errors") or [{}])[0].get("message") or ""))
