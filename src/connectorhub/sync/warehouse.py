"""Which built-in warehouse a workspace's syncs load into: PostgreSQL when
`CONNECTORHUB_WAREHOUSE_URL` is set, else a file of its own under `<data_dir>/warehouse/`,
DuckDB by default (`CONNECTORHUB_WAREHOUSE=sqlite` for SQLite). Left unset, a workspace that
already loads into a SQLite file (from before DuckDB was the default) keeps loading there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectorhub.db import libpq_conninfo
from connectorhub.sync.destination import (
    Destination,
    PostgresDestination,
    identifier,
)
from connectorhub.sync.duckdb_destination import DuckDBDestination
from connectorhub.sync.sqlite_destination import SqliteDestination


def embedded_kind(settings: Any, workspace: str) -> str:
    """`duckdb` or `sqlite`: the file a workspace's rows land in when no URL is set."""
    if settings.warehouse:
        return settings.warehouse
    sqlite, duckdb = (file_of(settings, workspace, kind) for kind in ("sqlite", "duckdb"))
    return "sqlite" if sqlite.exists() and not duckdb.exists() else "duckdb"


def file_of(settings: Any, workspace: str, kind: str) -> Path:
    return settings.data_dir / "warehouse" / f"{identifier(workspace)}.{kind}"


def destination_for(settings: Any, workspace: str) -> Destination:
    """The workspace's built-in warehouse (PostgreSQL, DuckDB or SQLite)."""
    if settings.warehouse_url:
        return PostgresDestination(libpq_conninfo(settings.warehouse_url), workspace)
    kind = embedded_kind(settings, workspace)
    path = file_of(settings, workspace, kind)
    return DuckDBDestination(path) if kind == "duckdb" else SqliteDestination(path)
