"""A real PostgreSQL source database per test, read by the real meltanolabs-tap-postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg
import pytest

from connectorhub.worker.procrastinate_queue import libpq_conninfo
from tests.fixtures.database import PG_ADMIN_URL, missing_service, postgres_available

SOURCE_PASSWORD = "source-pa55word-never-logged"


@dataclass
class SourceDatabase:
    name: str
    conninfo: str

    def execute(self, statement: str, params: tuple = ()) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            connection.execute(statement, params)

    def config(self, **extra) -> dict:
        return {"host": "127.0.0.1", "port": 5432, "database": self.name,
                "filter_schemas": ["public"], **extra}  # fmt: skip


@pytest.fixture
async def source_db() -> AsyncIterator[SourceDatabase]:
    if not await postgres_available():
        missing_service("PostgreSQL at 127.0.0.1:5432")
    admin = libpq_conninfo(PG_ADMIN_URL)
    name = f"chub_src_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    database = SourceDatabase(name, admin.rsplit("/", 1)[0] + f"/{name}")
    database.execute(
        "CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, amount numeric,"
        " paid boolean DEFAULT false, updated_at timestamptz NOT NULL DEFAULT now(), meta jsonb)"
    )
    database.execute(
        "INSERT INTO orders (customer, amount, meta, updated_at) SELECT 'c' || g, g * 1.5,"
        " jsonb_build_object('n', g), now() - interval '1 day' + g * interval '1 second'"
        " FROM generate_series(1, 1000) g"
    )
    yield database
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
