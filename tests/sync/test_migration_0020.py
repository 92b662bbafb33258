"""Migration 0020 on a fresh SQLite and PostgreSQL database: a source that had picked a target
keeps it, the rest keep following the workspace (nobody has picked the built-in warehouse yet),
and the revision goes down and up again cleanly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from connectorhub.migrations.runner import alembic_config, upgrade
from tests.fixtures.database import (
    create_postgres_database,
    drop_postgres_database,
    missing_service,
    postgres_available,
)

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TYPES = {"id": sa.Uuid(), "catalog": sa.Uuid(), "destination": sa.Uuid(), "now": sa.DateTime(True),
         "json": JSON, "list": JSON}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request, tmp_path) -> AsyncIterator[AsyncEngine]:
    """A database with no tables yet."""
    if request.param == "sqlite":
        made = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
        yield made
        await made.dispose()
        return
    if not await postgres_available():
        missing_service("PostgreSQL at 127.0.0.1:5432")
    database = await create_postgres_database()
    made = create_async_engine(database.admin_url)
    try:
        yield made
    finally:
        await made.dispose()
        await drop_postgres_database(database)


def _downgrade(connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _insert(sql: str, **values):
    statement = text(sql).bindparams(
        *(sa.bindparam(name, type_=TYPES[name]) for name in TYPES if f":{name}" in sql)
    )
    return statement, values


async def _columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_columns("connectors"))
    return {column["name"] for column in found}


async def test_0020_keeps_every_sources_pick_and_downgrades(engine):
    await upgrade(engine, "0019")
    catalog, target, source, follower = (uuid.uuid4() for _ in range(4))
    now = datetime.now(UTC)
    connector = (
        "INSERT INTO connectors (id, catalog_id, name, status, config, auth, tags,"
        " executions_total, executions_succeeded, executions_failed, tenant_id, destination_id,"
        " default_destination, created_at, updated_at) VALUES (:id, :catalog, :name, 'inactive',"
        " :json, :json, :list, 0, 0, 0, 'm20', :destination, :flag, :now, :now)"
    )
    async with engine.begin() as connection:
        await connection.execute(
            *_insert("INSERT INTO workspaces (id, name, created_at, updated_at)"
                     " VALUES ('m20', 'M20', :now, :now)", now=now)
        )  # fmt: skip
        await connection.execute(
            *_insert(
                "INSERT INTO connector_catalog (id, key, name, description, category, icon,"
                " auth_type, kind, capabilities, default_config_schema, auth_fields, content_hash,"
                " created_at, updated_at) VALUES (:id, 'm20-kind', 'M20', '', 'Testing', 'x',"
                " 'none', 'source', :list, :json, :list, 'h', :now, :now)",
                id=catalog, list=[], json={}, now=now,
            )
        )  # fmt: skip
        for id_, name, destination, flag in (
            (target, "Files", None, True), (source, "Shop", target, False),
            (follower, "Orders", None, False),
        ):  # fmt: skip
            await connection.execute(
                *_insert(connector, id=id_, catalog=catalog, name=name, json={}, list=[],
                         destination=destination, flag=flag, now=now)
            )  # fmt: skip

    await upgrade(engine, "0020")
    read = text(
        "SELECT name, destination_id, destination_warehouse FROM connectors ORDER BY name"
    ).columns(destination_id=sa.Uuid())
    async with engine.connect() as connection:
        rows = [tuple(r) for r in (await connection.execute(read)).all()]
    assert rows == [("Files", None, False), ("Orders", None, False), ("Shop", target, False)]

    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, "0019")
    assert "destination_warehouse" not in await _columns(engine)
    async with engine.connect() as connection:
        kept = (await connection.execute(
            text("SELECT destination_id FROM connectors WHERE name = 'Shop'")
            .columns(destination_id=sa.Uuid())
        )).scalar_one()  # fmt: skip
    assert kept == target
    await upgrade(engine, "head")
    assert {"destination_id", "destination_warehouse"} <= await _columns(engine)
