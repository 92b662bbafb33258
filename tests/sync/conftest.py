"""The slow tap (tests/fixtures/slow_tap.py) for the sync tests: installed once per machine, its
catalog entry in a directory for hubs started here, and seeded into the shared test hubs."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectorhub.catalog.service import seed
from connectorhub.config import Settings
from connectorhub.hub import Hub
from tests.conftest import TEST_KEYS, TEST_PLUGINS_DIR
from tests.fixtures import slow_tap


@pytest.fixture(scope="session")
async def slow_tap_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CONNECTORHUB_CATALOG_EXTRA_DIR with the slow tap's entry, its plugin installed."""
    return await slow_tap.TAP.installed_catalog(tmp_path_factory, TEST_PLUGINS_DIR, TEST_KEYS)


@pytest.fixture
async def slow_tap_entry(hub: Hub, slow_tap_catalog: Path, request: pytest.FixtureRequest) -> str:
    """The slow tap's entry in `hub`'s catalog (PostgreSQL: written as the database owner, the
    runtime role only reads the catalog). Returns its key."""
    if hub.settings.is_sqlite:
        async with hub.work.transaction() as session:
            await seed(session, slow_tap_catalog)
        return slow_tap.CATALOG_KEY
    database = request.getfixturevalue("postgres_database")
    owner = Hub(Settings(database_url=database.admin_url, secret_keys=TEST_KEYS))
    try:
        async with owner.work.transaction() as session:
            await seed(session, slow_tap_catalog)
    finally:
        await owner.engine.dispose()
    return slow_tap.CATALOG_KEY
