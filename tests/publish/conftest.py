"""A real WordPress per test module (tests/fixtures/wordpress.py), and publishers on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.wordpress import WordPressSite, wordpress_site


@pytest.fixture(scope="module")
def wordpress() -> Iterator[WordPressSite]:
    with wordpress_site() as site:
        yield site


async def add_wordpress(client, ws, site: WordPressSite, *, user: str = "editor",
                        password: str | None = None, name: str = "Blog", **config) -> dict:  # fmt: skip
    """An installed, activated WordPress connector on `site`."""
    body = {
        "catalog_key": "wordpress", "name": name,
        "config": {"base_url": site.url, "site_label": "Test blog", **config},
        "auth": {"username": user, "password": password or site.editor_password},
    }  # fmt: skip
    created = await client.post("/api/connectors", json=body, headers=ws.owner.headers)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    activated = await client.patch(
        f"/api/connectors/{cid}", json={"status": "active"}, headers=ws.owner.headers
    )
    assert activated.status_code == 200, activated.text
    return activated.json()
