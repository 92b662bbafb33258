"""WordPress: the REST API with an application password over HTTP Basic auth.

The REST root is found from the site's address whether permalinks are pretty (`/wp-json/`) or
plain (`/?rest_route=/`). Tags and categories are given by name (made when missing), the first
media item becomes the featured image, and an HTML comment carries the publication's marker so a
post an interrupted attempt made is found again instead of posted twice.
"""

from __future__ import annotations

import html
import json
from typing import Any

import aiohttp

from connectorhub.config import Settings
from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.outbound import Outbound, retry_after_seconds
from connectorhub.publish.drivers.base import Account, Posted
from connectorhub.publish.drivers.http import call, fetch_image, maybe_done

STRIPPED_AUTHORIZATION = (
    "WordPress saw no credentials although they were sent: the web server strips the "
    'Authorization header. On Apache add `SetEnvIf Authorization "(.*)" '
    "HTTP_AUTHORIZATION=$1` to .htaccess (or `CGIPassAuth On`); on nginx + PHP-FPM pass "
    "`fastcgi_param HTTP_AUTHORIZATION $http_authorization;`."
)
_REFUSED = {
    "incorrect_password",
    "invalid_username",
    "invalid_email",
    "application_passwords_disabled",
}
_NOT_ALLOWED = {"rest_cannot_create", "rest_cannot_publish", "rest_cannot_edit", "rest_forbidden"}


# Site address → whether its REST root is the pretty `/wp-json/` (else `?rest_route=`).
_REST_ROOTS: dict[str, bool] = {}


class WordPress:
    can_find = True

    def __init__(self, http: Outbound, config: dict[str, Any],
                 secrets: dict[str, Any], settings: Settings,
                 *, account: dict[str, Any] | None = None):  # fmt: skip
        self.http = http
        self.base = str(config["base_url"]).rstrip("/")
        self.default_status = config.get("default_status", "draft")
        self.authorization = aiohttp.encode_basic_auth(
            str(secrets["username"]), str(secrets["password"])
        )
        self.media_limit_bytes = settings.publish_media_max_bytes
        self._pretty: bool | None = None

    # --- the interface ------------------------------------------------------------------------

    async def check_account(self) -> Account:
        me = await self._call("GET", "wp/v2/users/me", params={"context": "edit"})
        name = me.get("name") or me.get("slug") or str(me.get("id"))
        if not (me.get("capabilities") or {}).get("publish_posts"):
            roles = ", ".join(me.get("roles") or []) or "none"
            raise AuthFailed(f"the WordPress user {name} may not publish posts (role: {roles})")
        return Account(id=str(me["id"]), name=name, handle=me.get("slug"))

    async def publish(self, content: dict[str, Any], marker: str) -> Posted:
        body: dict[str, Any] = {
            "title": content.get("title") or "",
            "content": _body_html(content, marker),
            "status": content.get("status") or self.default_status,
        }
        if content.get("tags"):
            body["tags"] = [await self._term("tags", name) for name in content["tags"]]
        if content.get("categories"):
            body["categories"] = [await self._term("categories", n) for n in content["categories"]]
        if content.get("media"):
            body["featured_media"] = await self._upload(content["media"][0])
        post = await self._call("POST", "wp/v2/posts", body=body)
        return Posted(post_id=str(post["id"]), url=post.get("link"))

    async def find(self, marker: str) -> Posted | None:
        found = await self._call(
            "GET", "wp/v2/posts",
            params={"search": marker, "context": "edit", "per_page": "10",
                    "status": "publish,future,draft,pending,private"},
        )  # fmt: skip
        for post in found:
            if marker in ((post.get("content") or {}).get("raw") or ""):
                return Posted(post_id=str(post["id"]), url=post.get("link"))
        return None

    # --- REST plumbing ------------------------------------------------------------------------

    async def _is_pretty(self) -> bool:
        if self._pretty is None:
            self._pretty = _REST_ROOTS.get(self.base)
        if self._pretty is None:
            try:
                reply = await call(self.http, "GET", f"{self.base}/wp-json/", headers={})
                self._pretty = reply.status == 200 and b'"namespaces"' in reply.body
                # WordPress builds its whole route index for this answer: ask once a process.
                _REST_ROOTS[self.base] = self._pretty
            except RetriableError:  # the site is away: the plain form is tried, and reports it
                self._pretty = False
        return self._pretty

    async def _call(
        self, method: str, route: str, *, params: dict[str, str] | None = None,
        body: Any = None, data: bytes | None = None, headers: dict[str, str] | None = None,
    ) -> Any:  # fmt: skip
        params = dict(params or {})
        if await self._is_pretty():
            url = f"{self.base}/wp-json/{route}"
        else:
            url, params = f"{self.base}/", {"rest_route": f"/{route}", **params}
        reply = await call(
            self.http, method, url, params=params, body=body, data=data,
            headers={**(headers or {}), "Authorization": self.authorization},
        )  # fmt: skip
        if 200 <= reply.status < 300:
            return reply.json()
        _raise_for(reply.status, reply.body, reply.headers.get("Retry-After"))

    async def _term(self, taxonomy: str, name: str) -> int:
        """The id of the tag or category called `name`, made when missing."""
        found = await self._call(
            "GET", f"wp/v2/{taxonomy}", params={"search": name, "per_page": "100"}
        )
        for term in found:
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                return int(term["id"])
        return int((await self._call("POST", f"wp/v2/{taxonomy}", body={"name": name}))["id"])

    async def _upload(self, item: dict[str, Any]) -> int:
        """The media item into the media library (its alt text too); returns its id."""
        media = await fetch_image(self.http, str(item["url"]), limit=self.media_limit_bytes)
        params = {"alt_text": item["alt"]} if item.get("alt") else None
        uploaded = await self._call(
            "POST", "wp/v2/media", params=params, data=media.content,
            headers={"Content-Type": media.content_type,
                     "Content-Disposition": f'attachment; filename="{media.filename}"'},
        )  # fmt: skip
        return int(uploaded["id"])


def _body_html(content: dict[str, Any], marker: str) -> str:
    """The post's HTML: the given HTML, else the text as paragraphs; the link after it; the
    marker as an HTML comment readers never see."""
    if content.get("html"):
        body = content["html"]
    else:
        paragraphs = [p for p in str(content["text"]).split("\n\n") if p.strip()]
        body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    if content.get("link"):
        link = html.escape(str(content["link"]), quote=True)
        body += f'\n<p><a href="{link}">{link}</a></p>'
    return f"{body}\n<!-- {marker} -->"


def _raise_for(status: int, payload: bytes, retry_after: str | None) -> None:
    try:
        error = json.loads(payload)
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", payload[:300].decode("utf-8", "replace")
    said = f"WordPress answered {status}: {html.unescape(message) or code or 'no details'}"
    if code == "rest_not_logged_in":
        raise AuthFailed(STRIPPED_AUTHORIZATION, status_code=status)
    if code in _REFUSED or status == 401:
        raise AuthFailed(f"{said} (the application password was refused)", status_code=status)
    if code in _NOT_ALLOWED or status == 403:
        raise AuthFailed(f"{said} (this WordPress user may not do that)", status_code=status)
    if status == 429 or status >= 500:
        raise RetriableError(said, status_code=status, maybe_sent=maybe_done(status),
                             retry_after=retry_after_seconds(retry_after))  # fmt: skip
    if 300 <= status < 400:
        raise FatalError(
            f"WordPress redirected ({status}): set the connector's site address to the one it "
            "redirects to (https, say)", status_code=status,
        )  # fmt: skip
    raise FatalError(said, status_code=status)
