"""Shared fixtures. Database tests run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectorhub.app import create_app
from connectorhub.config import Settings
from connectorhub.hub import Hub
from connectorhub.kit.crypto import generate_key
from connectorhub.lifecycle import migrate_and_seed
from tests.fixtures.database import (
    PostgresDatabase,
    create_postgres_database,
    drop_postgres_database,
    grant_app_role,
    missing_service,
    postgres_available,
)
from tests.fixtures.factories import WorkspaceFixture, make_workspace
from tests.fixtures.source_database import SourceDatabase, source_database
from tests.fixtures.third_party import ThirdParty, third_party_server

TEST_KEYS = f"ktest1:{generate_key()}"
# Tests play third-party APIs on loopback, which only an operator allow-list opens.
LOCAL_APIS = {"outbound_allow_networks": "127.0.0.0/8"}
# Singer taps are installed once per machine for the tests (a fresh CI machine installs them once).
TEST_PLUGINS_DIR = Path(tempfile.gettempdir()) / "connectorhub-test-plugins"


_shared: dict[str, PostgresDatabase] = {}


async def shared_postgres() -> PostgresDatabase:
    """One migrated PostgreSQL database for the whole run (tests isolate by workspace)."""
    if "db" not in _shared:
        if not await postgres_available():
            missing_service("PostgreSQL at 127.0.0.1:5432")
        database = await create_postgres_database()
        _shared["db"] = database
        migrator = Hub(Settings(database_url=database.admin_url, secret_keys=TEST_KEYS))
        await migrate_and_seed(migrator)
        await migrator.stop()
        await grant_app_role(database)
    return _shared["db"]


_hubs: dict[str, Hub] = {}


async def shared_postgres_hub() -> Hub:
    """The started Hub on the shared PostgreSQL database, as the non-superuser runtime role."""
    if "postgresql" not in _hubs:
        database = await shared_postgres()
        hub = Hub(
            Settings(
                database_url=database.app_url,
                secret_keys=TEST_KEYS,
                plugins_dir=TEST_PLUGINS_DIR,
                warehouse_url=database.admin_url,
                **LOCAL_APIS,
            )
        )
        await hub.start()
        # A Procrastinate worker in this process runs what the tests queue, as `worker` would.
        hub.run_soon(
            hub.jobs.run_worker(
                install_signal_handlers=False, shutdown_graceful_timeout=5, name="tests"
            )
        )
        _hubs["postgresql"] = hub
    return _hubs["postgresql"]


@pytest.fixture(scope="session", autouse=True)
async def _drop_postgres_at_end() -> AsyncIterator[None]:
    yield
    for hub in _hubs.values():
        await hub.stop()
    if "db" in _shared:
        await drop_postgres_database(_shared.pop("db"))


@pytest.fixture(scope="session")
async def postgres_database() -> PostgresDatabase:
    return await shared_postgres()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hub]:
    """A started Hub on a migrated, seeded database of each backend."""
    if request.param == "postgresql":
        yield await shared_postgres_hub()
        return
    data_dir: Path = tmp_path_factory.mktemp("sqlite")
    hub = Hub(
        Settings(
            data_dir=data_dir, secret_keys=TEST_KEYS, plugins_dir=TEST_PLUGINS_DIR, **LOCAL_APIS
        )
    )
    await migrate_and_seed(hub)
    await hub.start()
    yield hub
    await hub.stop()


@pytest.fixture
async def postgres_hub() -> Hub:
    return await shared_postgres_hub()


@pytest.fixture
async def postgres_client(postgres_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub=postgres_hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def api() -> AsyncIterator[ThirdParty]:
    """A real local HTTP server playing a third-party API (see tests/fixtures/third_party.py)."""
    async with third_party_server() as server:
        yield server


@pytest.fixture
async def source_db() -> AsyncIterator[SourceDatabase]:
    """A real PostgreSQL database for a Singer tap to read (tests/fixtures/source_database.py)."""
    async with source_database() as database:
        yield database


@pytest.fixture
def backend(hub: Hub) -> str:
    return hub.engine.dialect.name


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    return create_app(hub.settings, hub=hub)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def workspace(hub: Hub) -> WorkspaceFixture:
    return await make_workspace(hub)


@pytest.fixture
async def other_workspace(hub: Hub) -> WorkspaceFixture:
    return await make_workspace(hub)
