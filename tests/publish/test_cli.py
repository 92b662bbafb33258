"""`connectorhub publish` against the real WordPress: prints the live post's URL, or the time a
scheduled one goes out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from connectorhub.cli.main import app
from tests.fixtures.wordpress import add_wordpress

pytestmark = [pytest.mark.slow, pytest.mark.wordpress]


async def _cli(hub, *args: str):
    env = {
        "CONNECTORHUB_DATA_DIR": str(hub.settings.data_dir),
        "CONNECTORHUB_SECRET_KEYS": hub.settings.secret_keys,
        "CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_publish_now_prints_the_url_and_at_prints_the_time(
    hub, client, workspace, wordpress, tmp_path
):
    connector = await add_wordpress(client, workspace, wordpress, name="CLI blog")
    body = tmp_path / "post.html"
    body.write_text("<p>From the <em>command line</em></p>")
    now = await _cli(hub, "publish", "CLI blog", "--workspace", workspace.slug, "--text", "x",
                     "--title", "CLI", "--html-file", str(body))  # fmt: skip
    assert now.exit_code == 0, now.output
    url = now.output.strip()
    assert url.startswith(wordpress.url)
    listed = (await client.get("/api/publications", headers=workspace.owner.headers)).json()
    assert listed["items"][0]["url"] == url and listed["items"][0]["status"] == "published"
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    later = await _cli(hub, "publish", connector["id"], "--workspace", workspace.slug,
                       "--text", "later", "--at", at.strftime("%Y-%m-%dT%H:%M:%S%z"))  # fmt: skip
    assert later.exit_code == 0, later.output
    assert f"scheduled for {at:%Y-%m-%d %H:%M:%S}" in later.output
    refused = await _cli(hub, "publish", "CLI blog", "--workspace", workspace.slug, "--text", "x",
                         "--title", "t", "--at", "not-a-date")  # fmt: skip
    assert refused.exit_code != 0
