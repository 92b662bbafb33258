"""Loading a Singer stream into PostgreSQL: the hub's loader beside a bare COPY, same file, same run.

A Singer stream file of N records (10 mixed-type fields incl. a nested object) is written once.
(a) the hub: `SingerParser` + `PostgresDestination` (staging COPY + upsert on the key, batches
of 5,000 — the code a sync runs); (b) the ceiling: the same lines parsed with the fastest JSON
parser available (orjson if installed, else json) and `COPY`ed straight into a table, no
upsert; (c) with `--target`, meltanolabs-target-postgres reading the file (installed into its own
virtualenv under /tmp on first use). Each side loads into a fresh table.

DuckDB, the embedded default, the same way: (d) the hub: `SingerParser` + `DuckDBDestination`
(Arrow batches of 5,000, each loading while the next is parsed; straight in while the keys are
new, else `MERGE` on the key; settled before each STATE, as the loader does); (e) its ceiling:
the same lines parsed with orjson into columns, one typed Arrow table, one `INSERT … SELECT` into
a table with no key. Each round loads into a fresh DuckDB file. Both hubs flush their batch at
each STATE, as sync/loader.py does.

    .venv/bin/python bench/sync_load.py [--records 200000] [--rounds 3] [--target] [--no-postgres]
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

import duckdb  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402

from connectorhub.sync.destination import PostgresDestination  # noqa: E402
from connectorhub.sync.duckdb_destination import DuckDBDestination  # noqa: E402
from connectorhub.sync.loader import SAVE_SECONDS  # noqa: E402
from connectorhub.sync.singer import Record, Schema, SingerParser, State  # noqa: E402

try:
    import orjson

    loads = orjson.loads
    PARSER = "orjson"

    def dumps(value) -> str:
        return orjson.dumps(value).decode()
except ImportError:  # pragma: no cover - depends on the machine
    loads, dumps = json.loads, json.dumps
    PARSER = "json"

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCHEMA = {
    "type": "SCHEMA",
    "stream": "events",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": ["null", "string"]},
            "amount": {"type": "number"},
            "quantity": {"type": "integer"},
            "active": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "country": {"type": "string"},
            "note": {"type": ["null", "string"]},
            "details": {"type": "object"},
        }
    },
}
COLUMNS = list(SCHEMA["schema"]["properties"])


def write_stream(path: str, records: int) -> None:
    with open(path, "w") as out:
        out.write(json.dumps(SCHEMA) + "\n")
        for n in range(1, records + 1):
            record = {
                "id": n, "name": f"user {n}", "email": f"u{n}@example.com" if n % 7 else None,
                "amount": n * 1.25, "quantity": n % 97, "active": n % 2 == 0,
                "created_at": f"2026-01-{1 + n % 28:02d}T12:00:{n % 60:02d}Z",
                "country": ("PT", "DE", "US", "BR")[n % 4], "note": None if n % 3 else "vip",
                "details": {"plan": "pro" if n % 5 else "free", "tags": ["a", "b"], "score": n % 10},
            }  # fmt: skip
            out.write(json.dumps({"type": "RECORD", "stream": "events", "record": record}) + "\n")
            if n % 10_000 == 0:
                out.write(
                    json.dumps({"type": "STATE", "value": {"bookmarks": {"events": n}}}) + "\n"
                )


async def hub_loader(path: str, conninfo: str, workspace: str) -> float:
    return await _hub(path, PostgresDestination(conninfo, workspace))


async def hub_duckdb(path: str, file: str) -> float:
    return await _hub(path, DuckDBDestination(Path(file)))


async def _hub(path: str, destination) -> float:
    """As sync/loader.py: batches of the destination's size; a STATE held until SAVE_SECONDS
    have passed (or the stream ends), then every buffered row loaded and committed first."""
    parser, schema, batch = SingerParser({"events"}), None, []
    size, new_batch = destination.batch_rows, destination.new_batch
    with open(path, "rb") as handle:  # noqa: ASYNC230 (read up front, outside the timing)
        lines = handle.readlines()
    started = saved_at = time.perf_counter()
    for line in lines:
        message = parser.parse(line)
        if isinstance(message, Schema):
            schema = message
            await destination.prepare("bench", schema)
            batch = new_batch(schema)
        elif isinstance(message, Record):
            batch.append(message.record)
            if len(batch) >= size:
                await destination.load("bench", schema, batch)
                batch = new_batch(schema)
        elif isinstance(message, State) and (
            not batch or time.perf_counter() - saved_at >= SAVE_SECONDS
        ):
            await destination.load("bench", schema, batch)
            batch = new_batch(schema)
            await destination.settle()  # where the loader saves the state
            saved_at = time.perf_counter()
    await destination.load("bench", schema, batch)
    await destination.settle()
    elapsed = time.perf_counter() - started
    await destination.close()
    return elapsed


def bare_copy(path: str, conninfo: str, table: str) -> float:
    with psycopg.connect(conninfo) as connection:
        connection.execute(
            f"CREATE TABLE {table} (id bigint, name text, email text, amount double precision,"
            " quantity bigint, active boolean, created_at timestamptz, country text, note text,"
            " details jsonb)"
        )
        connection.commit()
        with open(path, "rb") as handle:
            lines = handle.readlines()
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for line in lines:
                message = loads(line)
                if message["type"] == "RECORD":
                    r = message["record"]
                    copy.write_row(
                        [r["id"], r["name"], r["email"], r["amount"], r["quantity"],
                         r["active"], r["created_at"], r["country"], r["note"],
                         json.dumps(r["details"])]
                    )  # fmt: skip
        connection.commit()
        return time.perf_counter() - started


DUCKDB_TYPES = [pa.int64(), pa.string(), pa.string(), pa.float64(), pa.int64(), pa.bool_(),
                pa.string(), pa.string(), pa.string(), pa.string()]  # fmt: skip


def bare_duckdb(path: str, file: str) -> float:
    """The same rows parsed into columns, one typed Arrow table, one INSERT … SELECT."""
    connection = duckdb.connect(file)
    connection.execute(
        "CREATE TABLE events (id BIGINT, name VARCHAR, email VARCHAR, amount DOUBLE,"
        " quantity BIGINT, active BOOLEAN, created_at TIMESTAMPTZ, country VARCHAR,"
        " note VARCHAR, details JSON)"
    )
    with open(path, "rb") as handle:
        lines = handle.readlines()
    started = time.perf_counter()
    columns: list[list] = [[] for _ in COLUMNS]
    appends = [c.append for c in columns]
    for line in lines:
        message = loads(line)
        if message["type"] == "RECORD":
            r = message["record"]
            for append, name in zip(appends[:-1], COLUMNS[:-1], strict=True):
                append(r[name])
            appends[-1](dumps(r["details"]))
    table = pa.table(
        {name: pa.array(values, kind) for name, values, kind in zip(COLUMNS, columns, DUCKDB_TYPES,
                                                                    strict=True)}
    )  # fmt: skip
    connection.register("batch", table)
    connection.execute("INSERT INTO events SELECT * FROM batch")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def target_postgres(path: str, database: str) -> float:
    venv = os.path.join(tempfile.gettempdir(), "chub-bench-target-postgres")
    executable = os.path.join(venv, "bin", "target-postgres")
    if not os.path.exists(executable):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run(
            [os.path.join(venv, "bin", "pip"), "install", "-q", "meltanolabs-target-postgres"],
            check=True,
        )
    config = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "x",
              "database": database, "default_target_schema": "target_bench"}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    started = time.perf_counter()
    with open(path, "rb") as stream:
        subprocess.run(
            [executable, "--config", handle.name], stdin=stream, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--target", action="store_true", help="also time target-postgres")
    parser.add_argument("--no-postgres", action="store_true", help="DuckDB only")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best of each")
    args = parser.parse_args()
    database = f"chub_bench_load_{uuid.uuid4().hex[:6]}"
    if not args.no_postgres:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {database}")
    conninfo = ADMIN.rsplit("/", 1)[0] + f"/{database}"
    ceilings, hubs, duck_ceilings, duck_hubs, target = [], [], [], [], None
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "stream.jsonl")
        write_stream(path, args.records)
        try:
            for round_ in range(args.rounds):  # alternating: this machine is noisy
                if not args.no_postgres:
                    ceilings.append(bare_copy(path, conninfo, f"ceiling{round_}"))
                    hubs.append(asyncio.run(hub_loader(path, conninfo, f"hub{round_}")))
                duck_ceilings.append(
                    bare_duckdb(path, os.path.join(directory, f"c{round_}.duckdb"))
                )
                duck_hubs.append(
                    asyncio.run(hub_duckdb(path, os.path.join(directory, f"h{round_}.duckdb")))
                )
            if args.target and not args.no_postgres:
                target = target_postgres(path, database)
        finally:
            if not args.no_postgres:
                with psycopg.connect(ADMIN, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    n = args.records
    print(f"records: {n}, 10 fields incl. a nested object; ceiling parser: {PARSER}; "
          f"best of {args.rounds} alternating rounds")  # fmt: skip
    if hubs:
        ceiling, hub = min(ceilings), min(hubs)
        print(f"(b) bare COPY ceiling: {n / ceiling:10.0f} rows/s")
        print(f"(a) hub loader:        {n / hub:10.0f} rows/s  = {ceiling / hub:.2f} of the ceiling "
              "(goal >= 0.75)")  # fmt: skip
    if target:
        print(f"(c) target-postgres:   {n / target:10.0f} rows/s  hub/target = {target / hub:.1f}x "
              "(goal >= 5x tuned)")  # fmt: skip
    duck_ceiling, duck_hub = min(duck_ceilings), min(duck_hubs)
    print(f"(e) bare DuckDB load:  {n / duck_ceiling:10.0f} rows/s  (duckdb {duckdb.__version__}, "
          f"one Arrow table)")  # fmt: skip
    print(f"(d) hub DuckDB loader: {n / duck_hub:10.0f} rows/s  = {duck_ceiling / duck_hub:.2f} of "
          "the bare load (goal >= 0.75)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
