"""The embedded SQLite warehouse: a file per workspace, a table `<source>__<stream>` per stream,
upserts on its key properties (see sync/destination.py for the protocol every destination keeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connectorhub.sync.destination import (
    BATCH_ROWS,
    VERSION_COLUMN,
    columns_of,
    identifier,
    json_type,
)
from connectorhub.sync.singer import Schema


def sqlite_type(spec: dict[str, Any]) -> str:
    kind, _ = json_type(spec)
    return {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER"}.get(kind, "TEXT")


class SqliteDestination:
    """The embedded default: `<data_dir>/warehouse/<workspace>.sqlite`."""

    batch_rows = BATCH_ROWS

    def __init__(self, path: Path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path

    def new_batch(self, schema: Schema) -> list[dict[str, Any]]:
        """An empty batch: records as they come (rows are built per batch, by name)."""
        return []

    @staticmethod
    def table(source: str, stream: str) -> str:
        return identifier(f"{source}__{stream}", 120)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    async def prepare(self, source: str, schema: Schema) -> None:
        await asyncio.to_thread(self._prepare, source, schema)

    def _prepare(self, source: str, schema: Schema) -> None:
        table, columns = self.table(source, schema.stream), columns_of(schema)
        keys = [k for k in schema.key_properties if k in columns]
        quoted = [f'"{n}" {sqlite_type(s)}' for n, s in columns.items()]
        if keys:
            quoted.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in keys) + ")")
        with self._connect() as connection:
            connection.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({", ".join(quoted)})')
            existing = {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}
            for name, spec in columns.items():
                if name not in existing:
                    connection.execute(
                        f'ALTER TABLE "{table}" ADD COLUMN "{name}" {sqlite_type(spec)}'
                    )

    async def load(self, source: str, schema: Schema, records: Sequence[dict[str, Any]]) -> int:
        if not records:
            return 0
        return await asyncio.to_thread(self._load, source, schema, records)

    async def settle(self) -> None:
        return None  # each load is committed when it returns

    def _load(self, source: str, schema: Schema, records: Sequence[dict[str, Any]]) -> int:
        table, columns = self.table(source, schema.stream), list(columns_of(schema))
        keys = [k for k in schema.key_properties if k in columns]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        statement = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        if keys:
            others = [c for c in columns if c not in keys]
            action = (
                "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in others)
                if others
                else "DO NOTHING"
            )
            statement += " ON CONFLICT (" + ", ".join(f'"{k}"' for k in keys) + ") " + action
        rows = [[_sqlite_value(r.get(c)) for c in columns] for r in records]
        with self._connect() as connection:  # one transaction: committed on leaving
            connection.executemany(statement, rows)
        return len(rows)

    async def delete_older_versions(self, source: str, stream: str, version: int) -> int:
        def run() -> int:
            with self._connect() as connection:
                return connection.execute(
                    f'DELETE FROM "{self.table(source, stream)}" '
                    f'WHERE "{VERSION_COLUMN}" IS NULL OR "{VERSION_COLUMN}" < ?',
                    (version,),
                ).rowcount

        return await asyncio.to_thread(run)

    async def count(self, source: str, stream: str) -> int:
        def run() -> int:
            with self._connect() as connection:
                table = self.table(source, stream)
                return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]

        return await asyncio.to_thread(run)

    async def rows(self, source: str, stream: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            with contextlib.closing(self._connect()) as connection:
                connection.row_factory = sqlite3.Row
                table = self.table(source, stream)
                return [dict(r) for r in connection.execute(f'SELECT * FROM "{table}" ORDER BY 1')]

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        return None


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value
