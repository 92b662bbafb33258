"""Where synced rows land: a table per stream, columns from the stream's JSON Schema, upserts on
its key properties (so a batch delivered twice after a resume never duplicates a row).

PostgreSQL (here): a schema per source; each batch is bulk `COPY`ed into a temporary staging
table and merged with one `INSERT … ON CONFLICT DO UPDATE`. The embedded warehouses: DuckDB, the
default (sync/duckdb_destination.py), or a SQLite file per workspace
(sync/sqlite_destination.py); which one a workspace loads into is sync/warehouse.py. New columns
are added when a stream's schema grows.
"""

from __future__ import annotations

import asyncio
import json
import operator
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import orjson
import psycopg
from psycopg import sql
from psycopg.adapt import Dumper

from connectorhub.sync.singer import Schema

SEQ = "_chub_seq"
# Which full-table read a row came from (named as Singer targets name it).
VERSION_COLUMN = "_sdc_table_version"


def with_version_column(schema: Schema) -> Schema:
    """The stream's schema plus the column that records each row's table version."""
    properties = {**(schema.schema.get("properties") or {}),
                  VERSION_COLUMN: {"type": ["null", "integer"]}}  # fmt: skip
    return Schema(
        schema.stream, {**schema.schema, "properties": properties}, schema.key_properties,
        schema.bookmark_properties,
    )  # fmt: skip


def identifier(text: str, limit: int = 63) -> str:
    """A safe lower-case SQL name: letters, digits, `_`."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"
    return ("_" + name if name[0].isdigit() else name)[:limit]


def json_type(spec: dict[str, Any]) -> tuple[str, str | None]:
    kinds = spec.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or ["string"])
    kinds = [k for k in kinds if k != "null"] or ["string"]
    if "anyOf" in spec and "type" not in spec:
        return "string", None
    return kinds[0], spec.get("format")


def pg_type(spec: dict[str, Any]) -> str:
    kind, fmt = json_type(spec)
    if kind == "integer":
        return "bigint"
    if kind == "number":
        return "double precision"
    if kind == "boolean":
        return "boolean"
    if kind in ("object", "array"):
        return "jsonb"
    if fmt == "date-time":
        return "timestamptz"
    if fmt == "date":
        return "date"
    return "text"


def columns_of(schema: Schema) -> dict[str, dict[str, Any]]:
    properties = schema.schema.get("properties") or {}
    return {name: spec if isinstance(spec, dict) else {} for name, spec in properties.items()}


BATCH_ROWS = 5000  # rows the loader buffers per stream before a load (state or not)


class Destination(Protocol):
    # Rows per batch the loader hands over (DuckDB takes larger ones: a statement's cost).
    batch_rows: int

    def new_batch(self, schema: Schema) -> Any:
        """An empty batch for a stream's rows, what the loader appends records to and `load`
        takes: the destination's own shape (COPY rows, columns) or a list of records."""

    async def prepare(self, source: str, schema: Schema) -> None: ...

    async def load(self, source: str, schema: Schema, records: Sequence[dict[str, Any]]) -> int: ...

    async def settle(self) -> None:
        """Every batch given to `load` is committed (DuckDB loads one while the next is read)."""

    async def count(self, source: str, stream: str) -> int: ...

    async def rows(self, source: str, stream: str) -> list[dict[str, Any]]: ...

    async def delete_older_versions(self, source: str, stream: str, version: int) -> int: ...

    async def close(self) -> None: ...


class PostgresDestination:
    """One connection, one transaction per batch (committed before the state after it is saved).
    A batch's rows are sent and `load` returns while PostgreSQL still writes them: the server
    works on its own core while the caller parses the next batch (the hub process waited
    about a third of a load's time for it, bench/sync_load.py). `settle`, and every other
    call, waits for it."""

    batch_rows = BATCH_ROWS

    def __init__(self, conninfo: str, workspace: str):
        self.conninfo, self.workspace = conninfo, workspace
        self._connection: psycopg.AsyncConnection | None = None
        # Streams whose table was empty when this sync began: batches are COPYed straight in,
        # the primary key refusing any repeat (in a batch or across); the first refusal sends
        # that batch, and every later one, through the staging upsert instead.
        self._straight_in: set[tuple[str, str]] = set()
        self._prepared: set[tuple[str, str]] = set()
        self._pending: asyncio.Task[None] | None = None  # the batch PostgreSQL is still writing

    def schema_name(self, source: str) -> str:
        return identifier(f"{self.workspace}__{source}")

    async def _conn(self) -> psycopg.AsyncConnection:
        await self.settle()
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(self.conninfo)
            # A nested value (a JSON column's, or one a tap sent where its schema promised a
            # plain value) is written by psycopg's row formatter itself, as JSON text.
            for kind in _NESTED:
                self._connection.adapters.register_dumper(kind, _JsonTextDumper)
        return self._connection

    async def prepare(self, source: str, schema: Schema) -> None:
        """Create the schema and table, or add the columns a grown stream schema has."""
        conn = await self._conn()
        target_schema, table = self.schema_name(source), identifier(schema.stream)
        columns = columns_of(schema)
        async with conn.transaction():
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(target_schema))
            )
            keys = [k for k in schema.key_properties if k in columns]
            definitions = [
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type(spec)))
                for name, spec in columns.items()
            ]
            if keys:
                definitions.append(
                    sql.SQL("PRIMARY KEY ({})").format(
                        sql.SQL(", ").join(map(sql.Identifier, keys))
                    )
                )
            await conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} ({})").format(
                    sql.Identifier(target_schema),
                    sql.Identifier(table),
                    sql.SQL(", ").join(definitions),
                )
            )
            rows = await conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (target_schema, table),
            )
            existing = {row[0] for row in await rows.fetchall()}
            for name, spec in columns.items():
                if name not in existing:
                    await conn.execute(
                        sql.SQL("ALTER TABLE {}.{} ADD COLUMN {} {}").format(
                            sql.Identifier(target_schema),
                            sql.Identifier(table),
                            sql.Identifier(name),
                            sql.SQL(pg_type(spec)),
                        )
                    )
            if (source, schema.stream) not in self._prepared:
                self._prepared.add((source, schema.stream))
                empty = await conn.execute(
                    sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}.{})").format(
                        sql.Identifier(target_schema), sql.Identifier(table)
                    )
                )
                if (await empty.fetchone() or [False])[0]:
                    self._straight_in.add((source, schema.stream))

    def new_batch(self, schema: Schema) -> CopyRows:
        """An empty batch for a stream's rows (what the loader buffers into)."""
        return CopyRows(schema)

    async def load(
        self, source: str, schema: Schema, records: Sequence[dict[str, Any]] | CopyRows
    ) -> int:
        """Send one batch (one transaction) and return how many rows it has, once its rows are
        sent: PostgreSQL writes and commits them while the caller reads the next batch.
        Raises psycopg.Error (a batch is refused whole), for the previous batch."""
        if not len(records):
            return 0
        conn = await self._conn()
        sent = asyncio.get_running_loop().create_future()
        self._pending = asyncio.ensure_future(self._load(conn, source, schema, records, sent))
        await asyncio.wait([self._pending, sent], return_when=asyncio.FIRST_COMPLETED)
        if self._pending.done():
            await self.settle()  # refused before all was sent: raise it now
        return len(records)

    async def settle(self) -> None:
        """Wait until every batch given to `load` is committed. Raises what refused one."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _load(
        self, conn: psycopg.AsyncConnection, source: str, schema: Schema,
        records: Sequence[dict[str, Any]] | CopyRows, sent: asyncio.Future[None],
    ) -> None:  # fmt: skip
        """`sent` is set once every row is written to the connection (and the COPY's end right
        after it, before this waits for the server)."""
        target = sql.SQL("{}.{}").format(
            sql.Identifier(self.schema_name(source)), sql.Identifier(identifier(schema.stream))
        )
        specs = columns_of(schema)
        columns = list(specs)
        json_at = [i for i, spec in enumerate(specs.values()) if pg_type(spec) == "jsonb"]
        keys = [k for k in schema.key_properties if k in columns]
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        rows = (
            records.rows
            if isinstance(records, CopyRows)
            else list(_copy_rows(records, columns, json_at))
        )
        if not keys or (source, schema.stream) in self._straight_in:
            try:
                async with conn.transaction():
                    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)
                    async with conn.cursor().copy(copy_sql) as copy:
                        for row in rows:
                            await copy.write_row(row)
                        sent.set_result(None)
                return
            except psycopg.errors.UniqueViolation:  # a key came again: merge from now on
                self._straight_in.discard((source, schema.stream))
        async with conn.transaction():
            await conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE _chub_stage ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(names, target)
            )
            await conn.execute(
                sql.SQL("ALTER TABLE _chub_stage ADD COLUMN {} bigint").format(sql.Identifier(SEQ))
            )
            copy_sql = sql.SQL("COPY _chub_stage ({}, {}) FROM STDIN").format(
                names, sql.Identifier(SEQ)
            )
            async with conn.cursor().copy(copy_sql) as copy:
                for seq, row in enumerate(rows):
                    await copy.write_row((*row, seq))
                if not sent.done():
                    sent.set_result(None)
            key_list = sql.SQL(", ").join(map(sql.Identifier, keys))
            updates = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in columns
                if c not in keys
            )
            conflict = (
                sql.SQL("DO UPDATE SET {}").format(updates)
                if any(c not in keys for c in columns)
                else sql.SQL("DO NOTHING")
            )
            # The last version of a row in the batch wins.
            merge = sql.SQL(
                "INSERT INTO {target} ({names}) SELECT DISTINCT ON ({keys}) {names} "
                "FROM _chub_stage ORDER BY {keys}, {seq} DESC ON CONFLICT ({keys}) {conflict}"
            )
            await conn.execute(
                merge.format(
                    target=target,
                    names=names,
                    keys=key_list,
                    seq=sql.Identifier(SEQ),
                    conflict=conflict,
                )
            )

    async def delete_older_versions(self, source: str, stream: str, version: int) -> int:
        """After a full-table read of `version` completed: rows it did not bring are gone at
        the source."""
        conn = await self._conn()
        async with conn.transaction():
            cursor = await conn.execute(
                sql.SQL("DELETE FROM {}.{} WHERE {} IS NULL OR {} < %s").format(
                    sql.Identifier(self.schema_name(source)), sql.Identifier(identifier(stream)),
                    sql.Identifier(VERSION_COLUMN), sql.Identifier(VERSION_COLUMN),
                ),
                (version,),
            )  # fmt: skip
        return cursor.rowcount

    async def count(self, source: str, stream: str) -> int:
        conn = await self._conn()
        cursor = await conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(self.schema_name(source)), sql.Identifier(identifier(stream))
            )
        )
        row = await cursor.fetchone()
        await conn.rollback()
        return int(row[0]) if row else 0

    async def rows(self, source: str, stream: str) -> list[dict[str, Any]]:
        """Every row of a stream's table (for tests and small looks), by its first column."""
        conn = await self._conn()
        cursor = await conn.execute(
            sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(
                sql.Identifier(self.schema_name(source)), sql.Identifier(identifier(stream))
            )
        )
        names = [c.name for c in cursor.description or []]
        found = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
        await conn.rollback()
        return found

    async def close(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:  # closing after a failure: what it raised was reported already
            await asyncio.gather(pending, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()


def _copy_rows(
    records: Sequence[dict[str, Any]], columns: list[str], json_at: list[int]
) -> Iterator[Sequence[Any]]:
    """COPY rows by column position: one C-level `itemgetter` per record (a record missing a
    column takes `dict.get` per column); nested values are left to the connection's
    `_JsonTextDumper`. A JSON column's plain value (a string, a number, a boolean) is written
    as its JSON text, found with one C-level set test per row. This loop was most of the
    loader's own time when it built rows by name (bench/sync_load.py)."""
    whole = operator.itemgetter(*columns) if len(columns) > 1 else _one(columns[0])
    in_json = operator.itemgetter(*json_at) if len(json_at) > 1 else _one(*json_at or [0])
    # (with no JSON column, `in_json` is never called)
    for record in records:
        try:
            row: Sequence[Any] = whole(record)
        except KeyError:
            row = list(map(record.get, columns))
        if json_at and not _JSON_READY.issuperset(map(type, in_json(row))):
            row = list(row)
            for at in json_at:
                if row[at].__class__ not in _JSON_READY:
                    row[at] = _json_text(row[at])
        yield row


class CopyRows:
    """A stream's COPY rows made as its records arrive (what the loader buffers into, through
    `new_batch`): tuples of plain values, JSON columns as JSON text at once. A batch of 5,000
    live record dicts (nested ones inside) was walked by every garbage collection while it
    filled; tuples of plain values are not (bench/sync_load.py)."""

    def __init__(self, schema: Schema):
        specs = columns_of(schema)
        self.columns = list(specs)
        self.json_at = [i for i, spec in enumerate(specs.values()) if pg_type(spec) == "jsonb"]
        self.rows: list[Sequence[Any]] = []
        self._whole = (
            operator.itemgetter(*self.columns) if len(self.columns) > 1 else _one(self.columns[0])
        )

    def append(self, record: dict[str, Any]) -> None:
        try:
            row: Sequence[Any] = self._whole(record)
        except KeyError:
            row = tuple(map(record.get, self.columns))
        if self.json_at:
            values = list(row)
            for at in self.json_at:
                if values[at] is not None:
                    values[at] = _json_text(values[at])
            row = tuple(values)
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)


def _one(key: Any) -> Any:
    """An `itemgetter` of one key that still returns a tuple."""
    get = operator.itemgetter(key)
    return lambda item: (get(item),)


_NESTED = frozenset({dict, list})
_JSON_READY = frozenset({dict, list, type(None)})  # written as JSON (or NULL) as they are


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers wider than 64 bits
        return json.dumps(value)


class _JsonTextDumper(Dumper):
    """Dicts and lists as JSON text (COPY's text format)."""

    def dump(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj)
        except TypeError:  # integers wider than 64 bits
            return json.dumps(obj).encode()
