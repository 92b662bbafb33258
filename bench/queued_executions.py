"""Queued executions/s through one `connectorhub worker` process, beside Procrastinate's own
no-op job rate through one worker process, on the same PostgreSQL in the same run.

Each side: N jobs are queued first, then one worker process (concurrency C) is started and timed
until the last job is done, process start-up included on both sides. The hub's jobs are real
executions of a 3-step chain (token → list with bearer → webhook post, with extraction) against
a local aiohttp server in its own process; the floor's jobs are a no-op Procrastinate task.
Goal: hub >= 60% of the floor.

    .venv/bin/python bench/queued_executions.py [--jobs 1000] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from executions import definition, free_port, serve_third_party  # noqa: E402

NOOP_WORKER = """
import asyncio, sys, procrastinate
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=sys.argv[1]))
@app.task(name="noop")
async def noop(n: int) -> None:
    return None
async def main():
    async with app.open_async():
        await app.run_worker_async(wait=False, concurrency=int(sys.argv[2]),
                                   install_signal_handlers=False, delete_jobs="successful")
asyncio.run(main())
"""


async def floor(conninfo: str, jobs: int, concurrency: int) -> float:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    noop = app.task(name="noop")(lambda n: None)
    async with app.open_async():
        await noop.batch_defer_async(*({"n": n} for n in range(jobs)))
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NOOP_WORKER, conninfo, str(concurrency),
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await process.wait()
    return jobs / (time.perf_counter() - started)


async def hub_side(database, api_url: str, jobs: int, concurrency: int) -> float:
    import uuid

    from sqlalchemy import text
    from tests.conftest import TEST_KEYS

    from connectorhub.config import Settings
    from connectorhub.connector import service as connectors
    from connectorhub.connector.models import ConnectorStatus
    from connectorhub.connector.schemas import ConnectorCreate, ConnectorPatch
    from connectorhub.definition.model import Definition
    from connectorhub.execution import service as executions
    from connectorhub.execution.models import Trigger
    from connectorhub.hub import Hub
    from connectorhub.kit.repository import WorkspaceScope
    from connectorhub.tenant.service import create_workspace

    env = {"outbound_allow_networks": "127.0.0.0/8"}
    hub = Hub(Settings(database_url=database.app_url, secret_keys=TEST_KEYS, **env))
    await hub.start()
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with hub.sessionmaker() as session, session.begin():
        await create_workspace(session, slug, "Bench")
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, slug, "bench")
        created = await connectors.install(
            scope, hub.box,
            ConnectorCreate(catalog_key="http", name="Chain", config={"base_url": api_url},
                            definition=Definition.model_validate(definition())),
        )  # fmt: skip
        await connectors.edit(
            scope, hub.box, created.id, ConnectorPatch(status=ConnectorStatus.active)
        )
    for start in range(0, jobs, 200):
        async with hub.work.transaction() as session:
            scope = await WorkspaceScope.open(session, slug, "bench")
            for _ in range(min(200, jobs - start)):
                await executions.start(
                    scope, hub.box, created.id, {}, trigger=Trigger.api, idempotency_key=None
                )
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTORHUB_")}
    env_vars.update(
        CONNECTORHUB_DATABASE_URL=database.app_url, CONNECTORHUB_SECRET_KEYS=TEST_KEYS,
        CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8", CONNECTORHUB_LOG_LEVEL="WARNING",
    )  # fmt: skip
    started = time.perf_counter()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connectorhub.cli.main", "worker", "--concurrency", str(concurrency),
        env=env_vars, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            async with hub.sessionmaker() as session, session.begin():
                await WorkspaceScope.open(session, slug, "bench")
                done = await session.scalar(
                    text(
                        "SELECT count(*) FROM connector_executions "
                        "WHERE status IN ('succeeded', 'failed')"
                    )
                )
                failed = await session.scalar(
                    text("SELECT count(*) FROM connector_executions WHERE status = 'failed'")
                )
            if done >= jobs:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), timeout=30)
        await hub.stop()
    if failed:
        print(f"warning: {failed} executions failed")
    return jobs / elapsed


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from tests.conftest import TEST_KEYS
    from tests.fixtures.database import (
        create_postgres_database,
        drop_postgres_database,
        grant_app_role,
    )

    from connectorhub.config import Settings
    from connectorhub.db import libpq_conninfo
    from connectorhub.hub import Hub
    from connectorhub.lifecycle import migrate_and_seed

    port = free_port()
    server = multiprocessing.Process(target=serve_third_party, args=(port,), daemon=True)
    server.start()
    await asyncio.sleep(0.5)
    database = await create_postgres_database()
    try:
        migrator = Hub(Settings(database_url=database.admin_url, secret_keys=TEST_KEYS))
        await migrate_and_seed(migrator)
        await migrator.stop()
        await grant_app_role(database)
        conninfo = libpq_conninfo(database.app_url)
        floors, hubs = [], []
        for round_ in range(args.rounds):
            floors.append(await floor(conninfo, args.jobs, args.concurrency))
            hubs.append(
                await hub_side(database, f"http://127.0.0.1:{port}", args.jobs, args.concurrency)
            )
            print(
                f"round {round_ + 1}: floor {floors[-1]:.1f} no-op jobs/s, hub {hubs[-1]:.1f} executions/s"
            )
        best_floor, best_hub = max(floors), max(hubs)
        print(
            f"\nProcrastinate no-op floor: {best_floor:.1f} jobs/s\n"
            f"hub queued executions:     {best_hub:.1f} executions/s (3 requests each)\n"
            f"ratio: {best_hub / best_floor:.3f} (goal >= 0.6)"
        )
    finally:
        await drop_postgres_database(database)
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
