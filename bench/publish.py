"""Publications/s to a real local WordPress through the hub, beside the same `POST /wp/v2/posts`
requests from a bare aiohttp loop, in the same run.

WordPress is Debian's package served by `php -S` (4 PHP workers) against the local MariaDB, as
in the tests (tests/fixtures/wordpress.py). The hub is `connectorhub serve` on the embedded
SQLite default (its own process); `--concurrency` callers POST `/api/connectors/{id}/publish`
(text and title, published now) for `--duration` seconds. The floor: the same number of tasks
posting the same body straight to WordPress with the application password. Rounds alternate
floor/hub; the best of each is reported. Goal: hub >= 0.8 of the floor.

    .venv/bin/python bench/publish.py [--concurrency 10] [--duration 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid

import aiohttp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]

from executions import drive, free_port, start_hub  # noqa: E402
from tests.fixtures.wordpress import wordpress_site  # noqa: E402


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with wordpress_site() as site, tempfile.TemporaryDirectory() as data:
        hub, token = start_hub(data, free_port(), None)
        try:
            port = hub.args[-1]
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            # A fresh connection per request: `php -S` serves one connection per worker, and
            # idle keep-alive connections pile up on its 4 workers round after round.
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True)
            ) as http:
                created = await http.post(f"{base}/api/connectors", headers=headers, json={
                    "catalog_key": "wordpress", "name": "Bench blog",
                    "config": {"base_url": site.url, "site_label": "Bench", "default_status": "publish"},
                    "auth": {"username": "editor", "password": site.editor_password}})  # fmt: skip
                cid = (await created.json())["id"]
                await http.patch(
                    f"{base}/api/connectors/{cid}", headers=headers, json={"status": "active"}
                )
                wp_auth = {
                    "Authorization": aiohttp.encode_basic_auth("editor", site.editor_password)
                }

                async def floor() -> bool:
                    body = {
                        "title": "Bench",
                        "content": f"<p>{uuid.uuid4().hex}</p>",
                        "status": "publish",
                    }
                    async with http.post(
                        f"{site.url}/wp-json/wp/v2/posts", json=body, headers=wp_auth
                    ) as r:
                        await r.read()
                        return r.status == 201

                async def through_hub() -> bool:
                    word = uuid.uuid4().hex
                    body = {"title": word, "text": word}
                    async with http.post(
                        f"{base}/api/connectors/{cid}/publish", json=body, headers=headers
                    ) as r:
                        await r.read()
                        return r.status == 201

                await floor(), await through_hub()  # warm both paths (REST root, opcache)
                best = {"floor": (0.0, 0), "hub": (0.0, 0)}
                ratios = []
                for round_ in range(args.rounds):
                    rates = {}
                    for name, call in (("floor", floor), ("hub", through_hub)):
                        rate, errors = await drive(call, args.concurrency, args.duration)
                        print(f"round {round_ + 1} {name:5}: {rate:7.1f} posts/s  errors {errors}")
                        best[name] = max(best[name], (rate, errors))
                        rates[name] = rate
                    ratios.append(rates["hub"] / rates["floor"] if rates["floor"] else 0.0)
                print("hub/floor per round:", " ".join(f"{r:.2f}" for r in ratios))
        finally:
            hub.terminate()
            hub.wait(timeout=20)
    ratio = best["hub"][0] / best["floor"][0] if best["floor"][0] else 0.0
    print(f"floor {best['floor'][0]:.1f} posts/s  hub {best['hub'][0]:.1f} publications/s  "
          f"hub/floor {ratio:.2f} (goal 0.8)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
