"""A whole sync with the real meltanolabs-tap-postgres, beside the same tap writing to /dev/null.

A source table of N rows (10 mixed-type columns incl. jsonb) in a fresh PostgreSQL database.
(a) the tap alone: `tap-postgres --config … --catalog …` with stdout to /dev/null (what the tap
itself can deliver); (b) the hub: `run_sync` (the code `connectorhub sync` and the workers run)
from that tap into the PostgreSQL warehouse: parse, COPY/upsert, state saved after each commit.
Same config, same catalog (the stream read FULL_TABLE), rounds alternate (the tap's best round
is the baseline; the hub's first round loads an empty warehouse, later ones upsert every row).
Goal (issue 17 P2): (b) >= 0.95 of (a), first sync and upsert, i.e. the tap is the bottleneck.
For (b) it also prints the hub process's own CPU per row (parse, load, reading the tap's pipe;
not the tap's, nor PostgreSQL's).

With `--target-postgres` (issue 16) it measures a Singer-target destination instead: (c) the
shell's `tap --config … --catalog … | target-postgres --config …` (the real
meltanolabs-target-postgres, in its own venv), beside (d) the hub's sync with that target as the
workspace's destination (the tap piped into the target, state taken from the target's output).
Each loads its own schema of the same database; rounds alternate (c)/(d), the first round of
each loading an empty schema, later ones upserting every row. Goal: (d) >= 0.95 of (c).

    .venv/bin/python bench/sync_end_to_end.py [--records 200000] [--rounds 2] [--target-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import psycopg  # noqa: E402

from connectorhub.config import Settings  # noqa: E402
from connectorhub.connector import service as connectors  # noqa: E402
from connectorhub.connector.schemas import ConnectorCreate  # noqa: E402
from connectorhub.hub import Hub  # noqa: E402
from connectorhub.kit.repository import WorkspaceScope  # noqa: E402
from connectorhub.lifecycle import migrate_and_seed  # noqa: E402
from connectorhub.sync import destinations, workdirs  # noqa: E402
from connectorhub.sync import service as syncs  # noqa: E402
from connectorhub.sync.schemas import StreamSelection  # noqa: E402
from connectorhub.sync.tap import tap_files  # noqa: E402
from connectorhub.sync.tasks import run_connection_test, run_sync  # noqa: E402
from connectorhub.tenant.service import create_workspace  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PLUGINS = Path(tempfile.gettempdir()) / "connectorhub-test-plugins"  # shared with the tests
STREAM = "public-events"
CPU_SECONDS: list[float] = []  # the hub process's CPU in each hub_sync


def make_source(database: str, records: int) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    conninfo = ADMIN.rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE events (id bigint PRIMARY KEY, name text, email text, amount numeric,"
            " quantity integer, active boolean, created_at timestamptz, country text, note text,"
            " details jsonb)"
        )
        connection.execute(
            "INSERT INTO events SELECT g, 'user ' || g, CASE WHEN g %% 7 = 0 THEN NULL ELSE"
            " 'u' || g || '@example.com' END, g * 1.25, g %% 97, g %% 2 = 0,"
            " '2026-01-01'::timestamptz + g * interval '1 second',"
            " (ARRAY['PT','DE','US','BR'])[1 + g %% 4], CASE WHEN g %% 3 = 0 THEN 'vip' END,"
            " jsonb_build_object('plan', CASE WHEN g %% 5 = 0 THEN 'free' ELSE 'pro' END,"
            " 'tags', jsonb_build_array('a', 'b'), 'score', g %% 10)"
            " FROM generate_series(1, %s) g",
            (records,),
        )
    return conninfo


async def prepare(hub: Hub, database: str) -> uuid.UUID:
    async with hub.work.transaction() as session:
        await create_workspace(session, "bench")
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        connector = await connectors.install(
            scope, hub.box,
            ConnectorCreate(catalog_key="postgres", name="Events",
                            config={"host": "127.0.0.1", "port": 5432, "database": database,
                                    "filter_schemas": ["public"]},
                            auth={"username": "postgres", "password": "unused-trust-auth"}),
        )  # fmt: skip
    tested = await run_connection_test(hub.context, "bench", connector.id)
    assert tested.ok, tested
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        await syncs.select_streams(
            scope, connector.id,
            StreamSelection.model_validate(
                {"streams": [{"name": STREAM, "replication_method": "FULL_TABLE"}]}
            ),
        )  # fmt: skip
    return connector.id


async def tap_alone(hub: Hub, connector_id: uuid.UUID) -> float:
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        found = await syncs.source(scope, hub.box, connector_id)
        catalog = syncs.selected_catalog(found.connector)
    executable = hub.plugins.executable(found.plugin)
    with tap_files(
        workdirs.root_of(hub.settings.data_dir), "bench-", config=found.tap_config, catalog=catalog
    ) as paths:
        started = time.perf_counter()
        tap = await asyncio.create_subprocess_exec(
            str(executable), "--config", str(paths["config"]), "--catalog", str(paths["catalog"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert await tap.wait() == 0
        return time.perf_counter() - started


async def use_target(hub: Hub, database: str, source_id: uuid.UUID) -> dict:
    """Install target-postgres as a connector loading schema `hub_target` and make it the
    workspace's destination; returns the target's plugin and the config the shell pipe uses
    (the same settings, into schema `shell_target`)."""
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        config = {"host": "127.0.0.1", "port": 5432, "database": database}
        target = await connectors.install(
            scope, hub.box,
            ConnectorCreate(catalog_key="target-postgres", name="Loaded",
                            config={**config, "default_target_schema": "hub_target"},
                            auth={"username": "postgres", "password": "unused-trust-auth"}),
        )  # fmt: skip
        await destinations.set_workspace_default(scope, target.id)
        source = await syncs.source(scope, hub.box, source_id)
        plugin = (await destinations.target_for(scope, hub.box, source.connector)).plugin
    await hub.plugins.install(plugin)
    shell_config = {**config, "default_target_schema": "shell_target", "user": "postgres",
                    "password": "unused-trust-auth"}  # fmt: skip
    return {"plugin": plugin, "config": shell_config}


async def shell_pipe(hub: Hub, connector_id: uuid.UUID, target: dict) -> float:
    """`tap … | target-postgres …` as a shell runs it, the target's output to /dev/null."""
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        found = await syncs.source(scope, hub.box, connector_id)
        catalog = syncs.selected_catalog(found.connector)
    tap = hub.plugins.executable(found.plugin)
    loader = hub.plugins.executable(target["plugin"])
    with tap_files(
        workdirs.root_of(hub.settings.data_dir), "bench-", config=found.tap_config, catalog=catalog
    ) as paths:
        target_config = paths["config"].with_name("target.json")
        target_config.write_text(json.dumps(target["config"]))
        command = (f"'{tap}' --config '{paths['config']}' --catalog '{paths['catalog']}'"
                   f" | '{loader}' --config '{target_config}' > /dev/null")  # fmt: skip
        started = time.perf_counter()
        shell = await asyncio.create_subprocess_exec(
            "bash", "-o", "pipefail", "-c", command, stderr=subprocess.DEVNULL
        )
        assert await shell.wait() == 0
        return time.perf_counter() - started


async def hub_sync(hub: Hub, connector_id: uuid.UUID, records: int) -> float:
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        run = await syncs.start(scope, connector_id, defer=False)
    started, cpu = time.perf_counter(), time.process_time()
    await run_sync(hub.context, "bench", str(run.id))
    elapsed = time.perf_counter() - started
    CPU_SECONDS.append(time.process_time() - cpu)
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, "bench", "bench")
        done = await syncs.read(scope, run.id)
    assert done.status == "succeeded" and done.rows == {STREAM: records}, (done.status, done.error)
    return elapsed


async def measure(
    records: int, rounds: int, target_postgres: bool = False
) -> tuple[list[float], list[float]]:
    database = f"chub_bench_e2e_{uuid.uuid4().hex[:6]}"
    make_source(database, records)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            hub = Hub(
                Settings(data_dir=Path(data_dir), plugins_dir=PLUGINS,
                         warehouse_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}")
            )  # fmt: skip
            await migrate_and_seed(hub)
            await hub.start()
            try:
                connector_id = await prepare(hub, database)
                target = await use_target(hub, database, connector_id) if target_postgres else None
                alone, synced = [], []
                for _ in range(rounds):
                    if target:
                        alone.append(await shell_pipe(hub, connector_id, target))
                    else:
                        alone.append(await tap_alone(hub, connector_id))
                    synced.append(await hub_sync(hub, connector_id, records))
            finally:
                await hub.stop()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return alone, synced


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--target-postgres", action="store_true",
        help="compare a target-postgres destination with the shell's tap | target pipe",
    )  # fmt: skip
    args = parser.parse_args()
    rounds, synced = asyncio.run(measure(args.records, args.rounds, args.target_postgres))
    n = args.records
    if args.target_postgres:
        print(f"records: {n} (10 columns incl. jsonb), meltanolabs-tap-postgres → "
              "meltanolabs-target-postgres, FULL_TABLE")  # fmt: skip
        for number, (piped, took) in enumerate(zip(rounds, synced, strict=True), 1):
            kind = "empty schemas" if number == 1 else "every row upserted"
            print(f"round {number} ({kind}): (c) shell pipe {n / piped:8.0f} rows/s ({piped:.1f} s)"
                  f" | (d) hub sync {n / took:8.0f} rows/s ({took:.1f} s) = {piped / took:.2f}"
                  " of the shell pipe (goal >= 0.95)")  # fmt: skip
        return 0
    alone = min(rounds)
    print(f"records: {n} (10 columns incl. jsonb), meltanolabs-tap-postgres, FULL_TABLE")
    print(f"(a) tap to /dev/null:   {n / alone:9.0f} rows/s ({alone:.1f} s; best of rounds "
          + ", ".join(f"{took:.1f}" for took in rounds) + " s)")  # fmt: skip
    for number, (took, cpu) in enumerate(zip(synced, CPU_SECONDS, strict=True), 1):
        kind = "first sync, empty warehouse" if number == 1 else "again, every row upserted"
        print(f"(b) hub sync #{number}:        {n / took:9.0f} rows/s ({took:.1f} s)  "
              f"= {alone / took:.2f} of the tap alone (goal >= 0.95; {kind}); "
              f"hub CPU {cpu / n * 1e6:.1f} µs/row")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
