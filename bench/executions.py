"""`?wait=true` executions/s of a 3-step chain, beside a bare aiohttp loop making the same calls.

A local aiohttp server (its own process) plays the third-party API: POST /token → a token,
GET /items (bearer) → a list, POST /hook → 202. The hub (`connectorhub serve`, its own process,
embedded SQLite by default or `--postgres`) runs an HTTP connector whose definition makes those
three requests with extraction (`$.access_token`, `$.items[*].id`, `$.id`). 50 concurrent
callers POST `/execute?wait=true` for `--duration` seconds. The floor: 50 concurrent tasks making
the same three requests with a bare aiohttp session, in this process. Rounds alternate
floor/hub. Goal without a peer: hub >= 50% of the floor.

With `--peer n8n` (issue 17, P3a) n8n 1.x runs the same chain as a workflow (bench/n8n_peer.py:
installed with npm into a cache directory when missing, one instance on SQLite saving every
execution), driven by the same callers against the same third party; rounds alternate
floor/n8n/hub. Goal: hub >= 2x n8n.

    .venv/bin/python bench/executions.py [--postgres [--workers 1]] [--peer n8n] [--concurrency 50] [--duration 10]

On PostgreSQL the executions run on `connectorhub worker` processes (started here beside serve,
as the README's production setup does); `serve` only queues them and waits for the result.

Part (b) of the issue, queued executions through one worker process: bench/queued_executions.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from n8n_peer import saved_executions, start_n8n

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_third_party(port: int) -> None:
    async def token(request):
        await request.read()
        return web.json_response({"access_token": "tok-" + uuid.uuid4().hex[:8]})

    async def items(request):
        assert request.headers["Authorization"].startswith("Bearer tok-")
        return web.json_response({"items": [{"id": n} for n in range(5)]})

    async def hook(request):
        await request.read()
        return web.json_response({"id": "h-1"}, status=202)

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_get("/items", items)
    app.router.add_post("/hook", hook)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def psql(statement: str) -> None:
    """Setup and teardown only, outside any measurement: blocking is fine here."""
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", statement]
    subprocess.run(command, check=True)


def definition() -> dict:
    return {
        "steps": [
            {"name": "login", "method": "POST", "url": "/token", "body": {"grant": "x"},
             "extract": {"access_token": "$.access_token"}},
            {"name": "list", "url": "/items",
             "auth": {"type": "bearer", "token": "{{steps.login.access_token}}"},
             "extract": {"ids": "$.items[*].id"}},
            {"name": "notify", "method": "POST", "url": "/hook",
             "body": {"ids": "{{steps.list.ids}}"}, "expect_status": [202],
             "extract": {"hook": "$.id"}},
        ],
    }  # fmt: skip


async def floor_chain(session: aiohttp.ClientSession, base: str) -> bool:
    async with session.post(f"{base}/token", json={"grant": "x"}) as response:
        token = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{base}/items", headers=headers) as response:
        ids = [item["id"] for item in (await response.json())["items"]]
    async with session.post(f"{base}/hook", json={"ids": ids}) as response:
        await response.json()
        return response.status == 202


async def hub_chain(session: aiohttp.ClientSession, url: str, headers: dict) -> bool:
    async with session.post(url, json={"input": {}}, headers=headers) as response:
        body = await response.json()
        return response.status == 200 and body["status"] == "succeeded"


async def n8n_chain(session: aiohttp.ClientSession, url: str) -> bool:
    async with session.post(url, json={"input": {}}) as response:
        body = await response.json()
        return response.status == 200 and body.get("id") == "h-1"


async def drive(call, concurrency: int, duration: float) -> tuple[float, int]:
    done, errors = 0, 0
    deadline = time.perf_counter() + duration

    async def worker():
        nonlocal done, errors
        while time.perf_counter() < deadline:
            try:
                ok = await call()
            except Exception:
                ok = False
            done += ok
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started), errors


def start_hub(
    data_dir: str, port: int, database_url: str | None, workers: int
) -> tuple[list[subprocess.Popen], str]:
    """`serve`, and on PostgreSQL `workers` worker processes: `?wait=true` runs there (the API
    process only queues), so without one every call would wait out its timeout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTORHUB_")}
    env.update(
        CONNECTORHUB_DATA_DIR=data_dir,
        CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",
        CONNECTORHUB_WORKER_CONCURRENCY="50",
        CONNECTORHUB_LOG_LEVEL="WARNING",
    )
    token = None
    if database_url:
        # PostgreSQL is set up as in the README's production steps (serve bootstraps only SQLite).
        env["CONNECTORHUB_DATABASE_URL"] = database_url
        env["CONNECTORHUB_SECRET_KEYS"] = (
            "kbench:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
        )
        cli = [sys.executable, "-m", "connectorhub.cli.main"]
        for command in (["db", "upgrade"], ["workspaces", "create", "bench"],
                        ["users", "create", "bench@example.com", "--workspace", "bench", "--role", "owner"]):  # fmt: skip
            subprocess.run([*cli, *command], env=env, check=True, capture_output=True, cwd=ROOT)
        token = subprocess.run(
            [*cli, "tokens", "create", "--workspace", "bench", "--email", "bench@example.com"],
            env=env, check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout.strip()  # fmt: skip
    # One serve process: on 2 cores, serve's default of one process per CPU beside the worker
    # measured 12.7 executions/s against 19.9 with one (PostgreSQL, 2026-12-03).
    process = subprocess.Popen(
        [sys.executable, "-m", "connectorhub.cli.main", "serve", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    processes = [process]
    worker = [sys.executable, "-m", "connectorhub.cli.main", "worker", "--concurrency", "50"]
    for n in range(workers if database_url else 0):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        processes.append(
            subprocess.Popen([*worker, "--name", f"bench-{n}"], env=env, cwd=ROOT, **quiet)
        )
    output = ""
    while token is None and "API token:" not in output:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise SystemExit("the hub did not start:\n" + output)
        output += line
    token = token or re.search(r"API token:\s+(\S+)", output).group(1)
    for _ in range(1200):  # the token is printed before the server listens (up to 60 s)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return processes, token


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run the hub on a fresh PostgreSQL database (127.0.0.1:5432)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="with --postgres: worker processes beside serve"
    )
    parser.add_argument("--peer", choices=["n8n"], help="measure n8n on the same chain too")
    args = parser.parse_args()

    api_port, hub_port = free_port(), free_port()
    third_party = multiprocessing.Process(target=serve_third_party, args=(api_port,), daemon=True)
    third_party.start()
    base = f"http://127.0.0.1:{api_port}"
    database_url = None
    if args.postgres:
        name = f"chub_bench_exec_{uuid.uuid4().hex[:6]}"
        psql(f"CREATE DATABASE {name}")
        database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    peer, peer_folder = None, tempfile.TemporaryDirectory(prefix="chub-bench-n8n-")
    with tempfile.TemporaryDirectory() as data_dir:
        processes, token = start_hub(data_dir, hub_port, database_url, args.workers)
        try:
            if args.peer:
                peer, peer_url = start_n8n(base, free_port(), Path(peer_folder.name))
            hub_url = f"http://127.0.0.1:{hub_port}"
            headers = {"Authorization": f"Bearer {token}"}
            connector = aiohttp.TCPConnector(limit=args.concurrency * 3)
            async with aiohttp.ClientSession(connector=connector) as session:
                execute = await install_chain(session, hub_url, headers, base)
                contenders = {
                    "floor": lambda: floor_chain(session, base),
                    **({"n8n": lambda: n8n_chain(session, peer_url)} if peer else {}),
                    "hub": lambda: hub_chain(session, execute, headers),
                }
                for call in contenders.values():  # warm-up
                    await drive(call, args.concurrency, 2)
                rates: dict[str, list[float]] = {name: [] for name in contenders}
                for round_ in range(args.rounds):
                    line = []
                    for name, call in contenders.items():
                        rate, errors = await drive(call, args.concurrency, args.duration)
                        rates[name].append(rate)
                        line.append(f"{name} {rate:7.1f}/s ({errors} errors)")
                    print(f"round {round_ + 1}: " + " | ".join(line), flush=True)
            if peer:
                print(f"n8n stored {saved_executions(Path(peer_folder.name))} executions")
        finally:
            for process in [*processes, *([peer] if peer else [])]:
                process.terminate()
            for process in [*processes, *([peer] if peer else [])]:
                process.wait(timeout=30)
            third_party.terminate()
            peer_folder.cleanup()
            if database_url:
                psql(f"DROP DATABASE IF EXISTS {database_url.rsplit('/', 1)[1]}")
    backend = "PostgreSQL" if args.postgres else "SQLite"
    mean = {name: sum(values) / len(values) for name, values in rates.items()}
    best = {name: max(values) for name, values in rates.items()}
    ratio = sum(rates["hub"]) / sum(rates["floor"])
    print(
        f"\n{backend}, {args.concurrency} concurrent callers, 3-step chain (best / mean of "
        f"{args.rounds} rounds): floor {best['floor']:.1f} / {mean['floor']:.1f} chains/s, hub "
        f"{best['hub']:.1f} / {mean['hub']:.1f} executions/s, hub/floor = {ratio:.3f}"
    )
    if not peer:
        print("(goal without a peer: hub/floor >= 0.5)")
        return 0 if ratio >= 0.5 else 1
    versus = sum(rates["hub"]) / sum(rates["n8n"]) if sum(rates["n8n"]) else 0.0
    print(
        f"n8n {best['n8n']:.1f} / {mean['n8n']:.1f} executions/s; hub/n8n = {versus:.2f} "
        f"(goal >= 2.0: {'met' if versus >= 2 else 'MISSED'})"
    )
    return 0 if versus >= 2 else 1


async def install_chain(
    session: aiohttp.ClientSession, hub_url: str, headers: dict, base: str
) -> str:
    """Install and activate the HTTP connector; returns its `?wait=true` execute URL."""
    body = {"catalog_key": "http", "name": "bench", "config": {"base_url": base},
            "definition": definition()}  # fmt: skip
    async with session.post(f"{hub_url}/api/connectors", headers=headers, json=body) as response:
        created = await response.json()
        assert response.status == 201, created
    async with session.patch(
        f"{hub_url}/api/connectors/{created['id']}", headers=headers, json={"status": "active"}
    ) as response:
        assert response.status == 200, await response.text()
    return f"{hub_url}/api/connectors/{created['id']}/execute?wait=true"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
