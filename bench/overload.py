"""5,000 concurrent `POST /execute` calls against one `serve`: no answer may be a 5xx other than
503 with `Retry-After`, and the server's memory stays bounded.

Every caller opens its own connection at once (the worst case: no client-side pool smoothing
the burst). Each call either queues an execution (202) or is refused with 503 + Retry-After.
The figure beside it: the same burst of `GET /healthz`, which touches no database, so the
ratio of accepted-or-refused-cleanly to total is the goal (1.0) and the RSS peak is printed.

    .venv/bin/python bench/overload.py [--postgres] [--callers 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid

import aiohttp

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from executions import definition, free_port, psql, serve_third_party, start_hub


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def burst(
    url: str, headers: dict[str, str], callers: int, method: str
) -> collections.Counter:
    outcomes: collections.Counter = collections.Counter()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> None:
            try:
                async with session.request(method, url, headers=headers, json={}) as response:
                    await response.read()
                    refused_cleanly = response.status == 503 and "Retry-After" in response.headers
                    outcomes[f"{response.status}{' +Retry-After' if refused_cleanly else ''}"] += 1
            except Exception as exc:
                outcomes[type(exc).__name__] += 1

        await asyncio.gather(*(one() for _ in range(callers)))
    return outcomes


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    api_port, hub_port = free_port(), free_port()
    third_party = multiprocessing.Process(target=serve_third_party, args=(api_port,), daemon=True)
    third_party.start()
    database_url = None
    if args.postgres:
        name = f"chub_bench_overload_{uuid.uuid4().hex[:6]}"
        psql(f"CREATE DATABASE {name}")
        database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with tempfile.TemporaryDirectory() as data_dir:
        processes, token = start_hub(data_dir, hub_port, database_url, 1)
        serve = processes[0]
        peak = [rss_mib(serve.pid)]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                peak.append(rss_mib(serve.pid))

        threading.Thread(target=sample, daemon=True).start()
        log: list[str] = []  # drained, or a full pipe would stall serve's logging
        threading.Thread(target=lambda: log.extend(serve.stdout), daemon=True).start()
        try:
            hub = f"http://127.0.0.1:{hub_port}"
            headers = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    f"{hub}/api/connectors", headers=headers,
                    json={"catalog_key": "http", "name": "overload",
                          "config": {"base_url": f"http://127.0.0.1:{api_port}"},
                          "definition": definition()},
                ) as response:  # fmt: skip
                    connector = await response.json()
                async with session.patch(
                    f"{hub}/api/connectors/{connector['id']}", headers=headers,
                    json={"status": "active"},
                ) as response:  # fmt: skip
                    assert response.status == 200, await response.text()
            before = rss_mib(serve.pid)
            started = time.perf_counter()
            health = await burst(f"{hub}/healthz", {}, args.callers, "GET")
            health_s = time.perf_counter() - started
            started = time.perf_counter()
            execute = f"{hub}/api/connectors/{connector['id']}/execute"
            outcomes = await burst(execute, headers, args.callers, "POST")
            execute_s = time.perf_counter() - started
        finally:
            stop.set()
            for process in processes:
                process.terminate()
        clean = outcomes["202"] + outcomes["503 +Retry-After"]
        bad = {k: v for k, v in outcomes.items() if k not in ("202", "503 +Retry-After")}
        print(
            f"backend: {'postgresql' if args.postgres else 'sqlite'}; {args.callers} callers at once"
        )
        print(f"GET /healthz burst (baseline): {dict(health)} in {health_s:.1f} s")
        print(f"POST /execute burst: {dict(outcomes)} in {execute_s:.1f} s")
        print(
            f"queued or refused with 503 + Retry-After: {clean}/{args.callers} = {clean / args.callers:.3f} (goal 1.000)"
        )
        print(f"other answers: {bad or 'none'}")
        errors = collections.Counter(line.strip()[:160] for line in log if "Error" in line)
        for line, count in errors.most_common(5):
            print(f"  serve logged {count} x: {line}")
        print(f"serve RSS: {before:.0f} MiB before, peak {max(peak):.0f} MiB")
        return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
