"""The destinations on their own: upserts on the key, schema growth, and a refused batch that
leaves nothing half-written."""

from __future__ import annotations

import contextlib
import uuid

import psycopg
import pytest

from connectorhub.db import libpq_conninfo
from connectorhub.sync.destination import PostgresDestination, SqliteDestination
from connectorhub.sync.singer import Schema
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


@pytest.fixture(params=["sqlite", "postgresql"])
async def destination(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteDestination(tmp_path / "warehouse.sqlite")
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


async def test_a_grown_schema_adds_columns(destination):
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada", "tags": [], "seen": None}])
    await destination.prepare("src", GROWN)
    await destination.load("src", GROWN, [{"id": 2, "name": "Bob", "tags": [], "score": 9.5}])
    assert await destination.count("src", "people") == 2


async def test_a_refused_batch_leaves_nothing_behind(postgres_destination):
    """PostgreSQL checks types (SQLite stores any value anywhere): the whole batch is refused."""
    destination = postgres_destination
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": "Ada", "tags": [], "seen": None}])
    bad = [{"id": 2, "name": "ok"}, {"id": "not-a-number", "name": "bad"}]
    with pytest.raises(psycopg.Error):
        await destination.load("src", PEOPLE, bad)
    await destination._connection.rollback()  # type: ignore[union-attr]
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
    assert _names(destination) == {1: "Ada", 2: "Bob v2", 3: "Cy", 4: "Di"}

    # The next sync (a new destination) finds the table full: everything is upserted.
    again = PostgresDestination(destination.conninfo, destination.workspace)
    try:
        await again.prepare("src", PEOPLE)
        await again.load("src", PEOPLE, [{"id": 1, "name": "Ada v2"}, {"id": 5, "name": "Eve"}])
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
    assert _names(destination) == {7: "Gus", 8: "Hal"}


async def test_a_nested_value_in_a_text_column_is_kept_as_json_text(destination):
    """A tap sending more than its schema says (an object where it promised a string)."""
    await destination.prepare("src", PEOPLE)
    await destination.load("src", PEOPLE, [{"id": 1, "name": {"first": "Ada"}, "tags": None}])
    await destination.load("src", PEOPLE, [{"id": 1, "name": ["Ada", "L."]}])  # the merge path
    assert await destination.count("src", "people") == 1
    if isinstance(destination, PostgresDestination):
        assert _names(destination) == {1: '["Ada", "L."]'.replace(", ", ",")}
