"""The destinations on their own: upserts on the key, schema growth, and a refused batch that
leaves nothing half-written."""

from __future__ import annotations

import contextlib
import uuid

import duckdb
import psycopg
import pytest

from connectorhub.db import libpq_conninfo
from connectorhub.sync.destination import (
    VERSION_COLUMN,
    PostgresDestination,
    with_version_column,
)
from connectorhub.sync.duckdb_destination import DuckDBDestination
from connectorhub.sync.singer import Schema
from connectorhub.sync.sqlite_destination import SqliteDestination
from tests.fixtures.database import PG_ADMIN_URL, missing_service, postgres_available

PEOPLE = Schema(
    "people",
    {"properties": {"id": {"type": "integer"}, "name": {"type": ["null", "string"]},
                    "tags": {"type": "array"}, "seen": {"type": "string", "format": "date-time"}}},
    ["id"],
)  # fmt: skip
GROWN = Schema(
    "people",
    {"properties": {**PEOPLE.schema["properties"], "score": {"type": "number"}}},
    ["id"],
)


@contextlib.asynccontextmanager
async def _postgres_target():
    if not await postgres_available():
        missing_service("PostgreSQL at 127.0.0.1:5432")
    target = PostgresDestination(libpq_conninfo(PG_ADMIN_URL), f"t{uuid.uuid4().hex[:8]}")
    try:
        yield target
    finally:
        await target.close()
        with psycopg.connect(libpq_conninfo(PG_ADMIN_URL), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{target.schema_name("src")}" CASCADE')


@pytest.fixture
async def postgres_destination():
    async with _postgres_target() as target:
        yield target


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
async def destination(request, tmp_path):
    if request.param in ("duckdb", "sqlite"):
        kind = DuckDBDestination if request.param == "duckdb" else SqliteDestination
        target = kind(tmp_path / f"warehouse.{request.param}")
        yield target
        await target.close()
        return
    async with _postgres_target() as target:
        yield target


async def test_upsert_keeps_one_row_per_key_and_the_last_version_wins(destination):
    await destination.prepare("src", PEOPLE)
    rows = [
        {"id": 1, "name": "Ada", "tags": ["a"], "seen": "2026-01-01T00:00:00Z"},
        {"id": 2, "name": "Bob", "tags": [], "seen": None},
        {"id": 1, "name": "Ada L.", "tags": ["a", "b"], "seen": "2026-01-02T00:00:00Z"},
    ]
    assert await destination.load("src", PEOPLE, rows) == 3
    assert await destination.load("src", PEOPLE, rows[:1]) == 1  # delivered again after a resume
    assert await destination.count("src", "people") == 2
    names = {r["id"]: r["name"] for r in await destination.rows("src", "people")}
    assert names == {1: "Ada", 2: "Bob"}  # the batch of one came last


async def test_the_last_row_of_a_key_in_a_batch_wins(destination):
    await destination.prepare("src", PEOPLE)
    rows = [{"id": 1, "name": "first"}, {"id": 2, "name": "Bob"}, {"id": 1, "name": "last"}]
    await destination.load("src", PEOPLE, rows)
    assert {r["id"]: r["name"] for r in await destination.rows("src", "people")} == {
        1: "last",
        2: "Bob",
    }


async def test_a_grown_schema_adds_columns(destination):
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada", "tags": [], "seen": None}])
    await destination.prepare("src", GROWN)
    await destination.load("src", GROWN, [{"id": 2, "name": "Bob", "tags": [], "score": 9.5}])
    assert await destination.count("src", "people") == 2
    rows = await destination.rows("src", "people")
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [(1, "Ada", None), (2, "Bob", 9.5)]
    # A row sent again without the new column keeps the columns it does not name.
    await destination.load("src", PEOPLE, [{"id": 2, "name": "Bob v2", "tags": []}])
    rows = await destination.rows("src", "people")
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [
        (1, "Ada", None),
        (2, "Bob v2", 9.5),
    ]


async def test_older_table_versions_are_deleted_and_newer_ones_kept(destination):
    versioned = with_version_column(PEOPLE)
    await destination.prepare("src", versioned)
    await destination.load("src", versioned, [{"id": 1, VERSION_COLUMN: 100},
                                              {"id": 2, VERSION_COLUMN: 100},
                                              {"id": 3, VERSION_COLUMN: None}])  # fmt: skip
    await destination.load("src", versioned, [{"id": 2, VERSION_COLUMN: 200},
                                              {"id": 4, VERSION_COLUMN: 200}])  # fmt: skip
    assert await destination.delete_older_versions("src", "people", 200) == 2  # ids 1 and 3
    assert [r["id"] for r in await destination.rows("src", "people")] == [2, 4]


async def test_a_refused_duckdb_batch_leaves_nothing_behind(tmp_path):
    """DuckDB would round 1.5 into an integer column: refused instead, like a text value."""
    destination = DuckDBDestination(tmp_path / "w.duckdb")
    try:
        await destination.prepare("src", PEOPLE)
        await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada"}])
        with pytest.raises(ValueError, match="holds 64-bit integers"):
            await destination.load("src", PEOPLE, [{"id": 2}, {"id": 1.5, "name": "bad"}])
            await destination.settle()  # a batch loads while the next is read
        with pytest.raises(duckdb.Error):
            await destination.load("src", PEOPLE, [{"id": 2}, {"id": 3, "seen": "not a time"}])
            await destination.settle()
        assert [r["id"] for r in await destination.rows("src", "people")] == [1]
    finally:
        await destination.close()


async def test_a_refused_batch_leaves_nothing_behind(postgres_destination):
    """PostgreSQL checks types (SQLite stores any value anywhere): the whole batch is refused."""
    destination = postgres_destination
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada", "tags": [], "seen": None}])
    bad = [{"id": 2, "name": "ok"}, {"id": "not-a-number", "name": "bad"}]
    with pytest.raises(psycopg.Error):
        await destination.load("src", PEOPLE, bad)
        await destination.settle()  # a batch is written while the next is read
    assert await destination.count("src", "people") == 1


def _names(destination: PostgresDestination) -> dict[int, str]:
    with psycopg.connect(libpq_conninfo(PG_ADMIN_URL)) as connection:
        rows = connection.execute(
            f'SELECT id, name FROM "{destination.schema_name("src")}".people ORDER BY id'
        ).fetchall()
    return dict(rows)


async def test_new_keys_into_an_empty_table_go_straight_in_and_repeats_still_upsert(
    postgres_destination,
):
    """A first sync into an empty table copies batches of new keys directly (no staging); a key
    that comes again, in a later batch or a later sync, is merged as before."""
    destination = postgres_destination
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}])
    await destination.load("src", PEOPLE, [{"id": 2, "name": "Bob v2"}, {"id": 3, "name": "Cy"}])
    await destination.load("src", PEOPLE, [{"id": 4, "name": "Di"}])
    await destination.settle()  # the last batch is committed (another connection reads)
    assert _names(destination) == {1: "Ada", 2: "Bob v2", 3: "Cy", 4: "Di"}

    # The next sync (a new destination) finds the table full: everything is upserted.
    again = PostgresDestination(destination.conninfo, destination.workspace)
    try:
        await again.prepare("src", PEOPLE)
        await again.load("src", PEOPLE, [{"id": 1, "name": "Ada v2"}, {"id": 5, "name": "Eve"}])
        await again.settle()
    finally:
        await again.close()
    assert _names(destination) == {1: "Ada v2", 2: "Bob v2", 3: "Cy", 4: "Di", 5: "Eve"}


async def test_a_row_written_meanwhile_by_someone_else_is_merged_not_refused(
    postgres_destination,
):
    destination = postgres_destination
    await destination.prepare("src", PEOPLE)
    with psycopg.connect(libpq_conninfo(PG_ADMIN_URL)) as connection:
        connection.execute(
            f'INSERT INTO "{destination.schema_name("src")}".people (id, name) VALUES (7, %s)',
            ("x",),
        )
    await destination.load("src", PEOPLE, [{"id": 7, "name": "Gus"}, {"id": 8, "name": "Hal"}])
    await destination.settle()
    assert _names(destination) == {7: "Gus", 8: "Hal"}


async def test_a_nested_value_in_a_text_column_is_kept_as_json_text(destination):
    """A tap sending more than its schema says (an object where it promised a string)."""
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": {"first": "Ada"}, "tags": None}])
    await destination.load("src", PEOPLE, [{"id": 1, "name": ["Ada", "L."]}])  # the merge path
    assert await destination.count("src", "people") == 1
    (row,) = await destination.rows("src", "people")
    assert row["name"].replace(" ", "") == '["Ada","L."]'


async def test_duckdb_loads_new_keys_straight_in_and_merges_once_one_comes_again(tmp_path):
    path = tmp_path / "w.duckdb"
    destination = DuckDBDestination(path)
    try:
        await destination.prepare("src", PEOPLE)
        await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}])
        await destination.load("src", PEOPLE, [{"id": 3, "name": "Cy"}])
        await destination.load(
            "src", PEOPLE, [{"id": 2, "name": "Bob v2"}, {"id": 4, "name": "Di"}]
        )
        await destination.load(
            "src", PEOPLE, [{"id": 5, "name": "Eve"}, {"id": 1, "name": "Ada v2"}]
        )
    finally:
        await destination.close()
    again = DuckDBDestination(path)  # the next sync finds the table full: every batch merges
    try:
        await again.prepare("src", PEOPLE)
        await again.load("src", PEOPLE, [{"id": 3, "name": "Cy v2"}, {"id": 6, "name": "Fay"}])
        names = {r["id"]: r["name"] for r in await again.rows("src", "people")}
        with pytest.raises(duckdb.Error):  # a key column is never empty
            await again.load("src", PEOPLE, [{"id": None, "name": "nobody"}])
            await again.settle()
    finally:
        await again.close()
    assert names == {1: "Ada v2", 2: "Bob v2", 3: "Cy v2", 4: "Di", 5: "Eve", 6: "Fay"}


@pytest.mark.parametrize("batch", ["records", "loader's batch"])
async def test_a_plain_value_in_a_json_column_is_kept_as_json(postgres_destination, batch):
    """A tap sending a string, a number or a boolean where its schema promised an array, given
    as records or as the loader buffers them (`new_batch`: rows made as records arrive)."""
    destination = postgres_destination
    await destination.prepare("src", PEOPLE)
    values = ["red", 3, True, None, {"a": [1]}, [{"b": None}]]
    records = [{"id": n, "tags": v} for n, v in enumerate(values)]  # "name" missing: NULL
    if batch == "loader's batch":
        rows = destination.new_batch(PEOPLE)
        for record in records:
            rows.append(record)
        records = rows
    assert await destination.load("src", PEOPLE, records) == len(values)
    await destination.settle()
    stored = await destination.rows("src", "people")
    assert [row["tags"] for row in stored] == values
    assert {row["name"] for row in stored} == {None}
