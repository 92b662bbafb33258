"""The embedded default warehouse: a DuckDB file per workspace, `<data_dir>/warehouse/<ws>.duckdb`,
a schema per source and a table per stream (`"<source>"."<stream>"`), with the semantics of the
other destinations (sync/destination.py): upserts on the key properties (the last version of a row
in a batch wins), new columns added when a stream's schema grows, `_sdc_table_version` and
`delete_older_versions` for full-table reads.

Rows are kept by column as they arrive (`ColumnBatch`: one list per column, nested values as
JSON text at once), so a batch of 50,000 is not 50,000 live dicts for the garbage collector to
walk again and again (it cost about half the parse time); a batch is then an Arrow table built
column by column (no per-row SQL), registered with the connection, and merged with one `MERGE … USING` the batch, in one transaction (committed before the
state after it is saved). Tables carry no PRIMARY KEY index: DuckDB keeps such an index in memory
and upserting through it costs about twice a `MERGE` here (key columns are NOT NULL, and a batch
keeps the last row of each key, so a key never matches twice). While a stream's table was empty
when this sync began and no key has come twice, batches go straight in with `INSERT … SELECT`.
Nested values are JSON text (JSON columns). DuckDB checks types as PostgreSQL does, except that
it rounds a fraction into an integer column: such a batch is refused here instead, whole.

One process holds a DuckDB file at a time: a connection is kept for a whole sync and opening it
waits (bounded) while another process (a `connectorhub sync` beside `serve`, say) has it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from connectorhub.sync.destination import VERSION_COLUMN, columns_of, identifier, json_type
from connectorhub.sync.singer import Schema

LOCK_WAIT_SECONDS = 30.0  # as long as the SQLite warehouse waits for its lock
BATCH_VIEW = "_chub_batch"
# Keys remembered per stream while its batches go straight in (then every batch is merged).
STRAIGHT_IN_KEYS = 1_000_000
# The Python types a column of each JSON Schema type takes as they are, into a typed Arrow
# array (checked with one C-level set of the batch's types); anything else is sent as text for
# DuckDB to cast, which refuses what does not fit.
_NONE = type(None)
_ARROW = {
    "integer": (pa.int64(), {int, _NONE}),
    "number": (pa.float64(), {float, int, _NONE}),
    "boolean": (pa.bool_(), {bool, _NONE}),
    "string": (pa.string(), {str, _NONE}),
}


def duckdb_type(spec: dict[str, Any]) -> str:
    kind, fmt = json_type(spec)
    if kind == "integer":
        return "BIGINT"
    if kind == "number":
        return "DOUBLE"
    if kind == "boolean":
        return "BOOLEAN"
    if kind in ("object", "array"):
        return "JSON"
    if fmt == "date-time":
        return "TIMESTAMPTZ"
    if fmt == "date":
        return "DATE"
    return "VARCHAR"


def _first(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """A statement's first row, its result read to the end: DuckDB refuses other work on the
    connection (`register`) while a result is only partly fetched."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers wider than 64 bits
        return json.dumps(value)


def _text(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    return _json_text(value)


def _column(name: str, spec: dict[str, Any], values: list[Any]) -> pa.Array:
    """One column of a batch as Arrow. Raises ValueError (a value its column cannot hold)."""
    kind, _ = json_type(spec)
    if kind in ("object", "array"):
        return pa.array([None if v is None else _json_text(v) for v in values], pa.string())
    arrow_type, fits = _ARROW.get(kind, _ARROW["string"])
    found = set(map(type, values))
    if found <= fits:
        try:
            return pa.array(values, arrow_type)
        except OverflowError:  # an integer wider than 64 bits
            pass
    if kind == "integer":  # DuckDB would round 1.5 (or "1.5") to 2: refused, as PostgreSQL does
        bad = next(
            v for v in values
            if v is not None and (v.__class__ is not int or not -(2**63) <= v < 2**63)
        )  # fmt: skip
        raise ValueError(f"column {name!r} holds 64-bit integers; got {bad!r}")
    return pa.array([_text(v) for v in values], pa.string())


class ColumnBatch:
    """A stream's rows as columns, in the order of its schema's properties (what `load` takes;
    a list of dicts is turned into one)."""

    def __init__(self, schema: Schema):
        self.specs = columns_of(schema)
        self.columns: list[list[Any]] = [[] for _ in self.specs]
        nested = {n for n, spec in self.specs.items() if json_type(spec)[0] in ("object", "array")}
        self.nested = [name in nested for name in self.specs]
        self._fields = [
            (name, column.append, is_nested)
            for name, column, is_nested in zip(self.specs, self.columns, self.nested, strict=True)
        ]
        self.rows = 0

    def append(self, record: dict[str, Any]) -> None:
        get = record.get
        for name, append, nested in self._fields:
            value = get(name)
            append(_json_text(value) if nested and value is not None else value)
        self.rows += 1

    def __len__(self) -> int:
        return self.rows

    def column(self, name: str) -> list[Any]:
        return self.columns[list(self.specs).index(name)]

    def table(self) -> pa.Table:
        """Raises ValueError (a value its column cannot hold)."""
        return pa.table(
            {
                name: pa.array(values, pa.string()) if nested else _column(name, spec, values)
                for (name, spec), values, nested in zip(
                    self.specs.items(), self.columns, self.nested, strict=True
                )
            }
        )  # (nested values are JSON text already)


def _as_batch(schema: Schema, records: Sequence[dict[str, Any]] | ColumnBatch) -> ColumnBatch:
    if isinstance(records, ColumnBatch):
        return records
    batch = ColumnBatch(schema)
    for record in records:
        batch.append(record)
    return batch


def _last_per_key(batch: ColumnBatch, keys: list[str]) -> tuple[list[int] | None, list[Any]]:
    """The positions of the last row of each key, in order (None: every row; a key matched
    twice by one MERGE is an error), and the batch's keys."""
    columns = [batch.column(k) for k in keys]
    if len(columns) == 1:
        last = {key: i for i, key in enumerate(columns[0])}
    else:
        last = {key: i for i, key in enumerate(zip(*columns, strict=True))}
    if len(last) == len(batch):
        return None, list(last)
    return sorted(last.values()), list(last)


class DuckDBDestination:
    """A workspace's DuckDB file; one connection for the life of this object (one sync)."""

    # Rows per batch the loader hands over: each statement (and its commit) costs ~8 ms here,
    # so 5,000-row batches spent a third of the load on them (bench/sync_load.py).
    batch_rows = 50_000

    def __init__(self, path: Path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()  # one statement at a time on the connection
        # Streams whose table was empty when this sync began, with the keys loaded since (see
        # the module's docstring); a key seen again sends that stream through MERGE from then on.
        self._straight_in: dict[tuple[str, str], set[Any]] = {}
        self._prepared: set[tuple[str, str]] = set()
        self._pending: asyncio.Task[Any] | None = None  # the batch loading while the next is read

    @staticmethod
    def table(source: str, stream: str) -> str:
        return f"{_quote(identifier(source))}.{_quote(identifier(stream))}"

    def _conn(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    self._connection = duckdb.connect(str(self.path))
                    break
                except duckdb.IOException as error:  # another process holds the file
                    if "lock" not in str(error).lower() or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        return self._connection

    async def _run(self, work, *args: Any) -> Any:
        """`work(connection, *args)` in a thread, after the batch still loading (in order)."""
        await self.settle()

        def locked() -> Any:
            with self._lock:
                return work(self._conn(), *args)

        return await asyncio.to_thread(locked)

    async def settle(self) -> None:
        """Wait until every batch given to `load` is committed. Raises what refused one."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def prepare(self, source: str, schema: Schema) -> None:
        """Create the schema and table, or add the columns a grown stream schema has."""
        await self._run(self._prepare, source, schema)

    def _prepare(self, conn: duckdb.DuckDBPyConnection, source: str, schema: Schema) -> None:
        table, columns = self.table(source, schema.stream), columns_of(schema)
        keys = [k for k in schema.key_properties if k in columns]
        definitions = [
            f"{_quote(n)} {duckdb_type(s)}{' NOT NULL' if n in keys else ''}"
            for n, s in columns.items()
        ]
        conn.execute("BEGIN")
        try:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(identifier(source))}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(definitions)})")
            existing = {
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [identifier(source), identifier(schema.stream)],
                ).fetchall()
            }
            for name, spec in columns.items():
                if name not in existing:
                    conn.execute(
                        f"ALTER TABLE {table} ADD COLUMN {_quote(name)} {duckdb_type(spec)}"
                    )
            stream = (source, schema.stream)
            if stream not in self._prepared:
                self._prepared.add(stream)
                empty = _first(conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})"))
                if empty and empty[0]:
                    self._straight_in[stream] = set()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def new_batch(self, schema: Schema) -> ColumnBatch:
        """An empty batch for a stream's rows (what the loader buffers into)."""
        return ColumnBatch(schema)

    async def load(
        self, source: str, schema: Schema, records: Sequence[dict[str, Any]] | ColumnBatch
    ) -> int:
        """Start upserting one batch (one transaction) and return how many rows it has: it loads
        in a thread while the caller reads the next one; `settle` (and any other call) waits for
        it. Raises ValueError or duckdb.Error (a batch is refused whole), for the previous one."""
        if not len(records):
            return 0
        await self.settle()
        batch = _as_batch(schema, records)
        self._pending = asyncio.ensure_future(self._run(self._load, source, schema, batch))
        return len(batch)

    def _load(
        self, conn: duckdb.DuckDBPyConnection, source: str, schema: Schema, rows: ColumnBatch
    ) -> None:
        specs = rows.specs
        keys = [k for k in schema.key_properties if k in specs]
        stream, table = (source, schema.stream), self.table(source, schema.stream)
        straight_in, last = not keys, None
        if keys:
            last, batch_keys = _last_per_key(rows, keys)
            seen = self._straight_in.get(stream)
            if seen is not None and len(seen) < STRAIGHT_IN_KEYS and seen.isdisjoint(batch_keys):
                seen.update(batch_keys)
                straight_in = True
            else:
                self._straight_in.pop(stream, None)
        batch = rows.table()
        if last is not None:
            batch = batch.take(last)
        names = ", ".join(map(_quote, specs))
        if straight_in:
            statement = f"INSERT INTO {table} ({names}) SELECT {names} FROM {BATCH_VIEW}"
        else:
            on = " AND ".join(f"target.{_quote(k)} = batch.{_quote(k)}" for k in keys)
            others = [c for c in specs if c not in keys]
            update = (
                "WHEN MATCHED THEN UPDATE SET "
                + ", ".join(f"{_quote(c)} = batch.{_quote(c)}" for c in others)
                if others
                else ""
            )
            values = ", ".join(f"batch.{_quote(c)}" for c in specs)
            statement = (
                f"MERGE INTO {table} AS target USING {BATCH_VIEW} AS batch ON {on} {update} "
                f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
            )
        conn.register(BATCH_VIEW, batch)
        try:
            conn.execute(statement)
        except BaseException:
            self._straight_in.pop(stream, None)  # not loaded: its keys must not count as seen
            raise
        finally:
            conn.unregister(BATCH_VIEW)

    async def delete_older_versions(self, source: str, stream: str, version: int) -> int:
        """After a full-table read of `version` completed: rows it did not bring are gone at
        the source."""

        def run(conn: duckdb.DuckDBPyConnection) -> int:
            column = _quote(VERSION_COLUMN)
            row = _first(
                conn.execute(
                    f"DELETE FROM {self.table(source, stream)} WHERE {column} IS NULL OR {column} < ?",
                    [version],
                )
            )
            return int(row[0]) if row else 0

        return await self._run(run)

    async def count(self, source: str, stream: str) -> int:
        def run(conn: duckdb.DuckDBPyConnection) -> int:
            row = _first(conn.execute(f"SELECT count(*) FROM {self.table(source, stream)}"))
            return int(row[0]) if row else 0

        return await self._run(run)

    async def rows(self, source: str, stream: str) -> list[dict[str, Any]]:
        """Every row of a stream's table (for tests and small looks), ordered by its first
        column."""

        def run(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            cursor = conn.execute(f"SELECT * FROM {self.table(source, stream)} ORDER BY 1")
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return await self._run(run)

    async def close(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:  # closing after a failure: what it raised was reported already
            await asyncio.gather(pending, return_exceptions=True)
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await asyncio.to_thread(connection.close)
