"""Migration 0017 on a fresh SQLite database: a template published before it keeps its latest
version as a kept one, and the revision goes down and up again cleanly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.migrations.runner import alembic_config, upgrade


def _downgrade(connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_0017_backfills_published_templates_and_downgrades(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(engine, "0016")
        template_id, now = uuid.uuid4(), datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO connector_templates (id, key, name, description, category, icon,"
                    " is_official, visibility, status, featured, moderated, install_count,"
                    " definition, default_config, version, published_definition,"
                    " published_config, changelog, published_at, created_at, updated_at)"
                    " VALUES (:id, 'old-one', 'Old', '', 'Testing', 'x', 0, 'public',"
                    " 'published', 0, 0, 0, :d, '{}', 4, :d, '{}', 'Fourth', :now, :now, :now)"
                ),
                {"id": template_id.hex, "d": '{"steps": [{"name": "s", "url": "/"}]}',
                 "now": now},
            )  # fmt: skip
        await upgrade(engine, "0017")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT version, changelog, definition FROM template_versions")
                )
            ).all()
        assert [(r.version, r.changelog) for r in rows] == [(4, "Fourth")]
        assert '"url": "/"' in rows[0].definition

        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0016")
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "template_versions" not in tables and "connector_templates" in tables
        await upgrade(engine, "head")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "template_versions" in tables
    finally:
        await engine.dispose()
