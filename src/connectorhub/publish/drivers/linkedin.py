"""LinkedIn: `POST /rest/posts` (Posts API, versioned by `LinkedIn-Version`, Rest.li 2.0), as
the author URN the connector names (a member's `urn:li:person:{sub}` from `/v2/userinfo`, or an
organization). Commentary is escaped for LinkedIn's "little text format"; a link is an article;
the post's id comes back in the `x-restli-id` header."""

from __future__ import annotations

import re
from typing import Any

from connectorhub.config import Settings
from connectorhub.kit.driver_errors import FatalError
from connectorhub.kit.outbound import Outbound
from connectorhub.publish.drivers.base import Account, Posted
from connectorhub.publish.drivers.http import Reply, call, raise_for

# Characters the little text format gives a meaning to: sent as literals.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def little_text(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


class LinkedIn:
    can_find = False

    def __init__(self, http: Outbound, config: dict[str, Any],
                 secrets: dict[str, Any], settings: Settings,
                 *, account: dict[str, Any] | None = None):  # fmt: skip
        self.http, self.base, self.config = http, settings.linkedin_api_url.rstrip("/"), config
        self.headers = {
            "Authorization": f"Bearer {secrets['access_token']}",
            "LinkedIn-Version": settings.linkedin_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    async def check_account(self) -> Account:
        me = (await self._call("GET", "/v2/userinfo")).json()
        return Account(id=f"urn:li:person:{me['sub']}", name=me.get("name") or me["sub"],
                       handle=me.get("email"))  # fmt: skip

    async def publish(self, content: dict[str, Any], marker: str) -> Posted:
        body: dict[str, Any] = {
            "author": self.config["author_urn"],
            "commentary": little_text(content["text"]),
            "visibility": self.config.get("visibility", "PUBLIC"),
            "distribution": {
                "feedDistribution": "MAIN_FEED", "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }  # fmt: skip
        if content.get("link"):
            body["content"] = {
                "article": {
                    "source": content["link"],
                    "title": content.get("title") or content["link"],
                }
            }
        reply = await self._call("POST", "/rest/posts", body=body)
        urn = reply.headers.get("x-restli-id")
        if not urn:
            raise FatalError("LinkedIn answered without the post's id (x-restli-id)")
        return Posted(post_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/")

    async def find(self, marker: str) -> Posted | None:
        raise NotImplementedError("LinkedIn posts carry no hidden marker to look an attempt up by")

    async def _call(self, method: str, path: str, *, body: Any = None) -> Reply:
        reply = await call(self.http, method, f"{self.base}{path}", headers=self.headers, body=body)
        if 200 <= reply.status < 300:
            return reply
        problem = reply.json() if reply.body.startswith(b"{") else {}
        raise_for("LinkedIn", reply, str(problem.get("message") or ""))
