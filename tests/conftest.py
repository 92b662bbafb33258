"""Shared fixtures. Database tests run on SQLite; those marked `both_backends` (behaviour that
differs on PostgreSQL: row-level security, the queue, the warehouse, locking) once on each.

Each xdist worker has its own session: its own SQLite hub, its own PostgreSQL role and database
(named by run and worker, tests/fixtures/database.py), its own live server and Chromium."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectorhub.app import create_app
from connectorhub.auth import passwords
from connectorhub.catalog.loader import load_entries
from connectorhub.config import Settings
from connectorhub.hub import Hub
from connectorhub.kit.crypto import generate_key
from connectorhub.lifecycle import migrate_and_seed
from connectorhub.oauth.tasks import keep_tokens_alive
from connectorhub.worker.procrastinate_queue import ProcrastinateQueue
from tests.fixtures import fake_tap
from tests.fixtures.browser_session import sign_in
from tests.fixtures.database import (
    PostgresDatabase,
    create_postgres_database,
    drop_app_role,
    drop_postgres_database,
    grant_app_role,
    missing_service,
    postgres_available,
)
from tests.fixtures.factories import WorkspaceFixture, make_workspace
from tests.fixtures.source_database import SourceDatabase, source_database
from tests.fixtures.third_party import ThirdParty, third_party_server
from tests.fixtures.wordpress import WordPressSite, wordpress_site

TEST_KEYS = f"ktest1:{generate_key()}"
# Tests play third-party APIs on loopback, which only an operator allow-list opens.
LOCAL_APIS = {"outbound_allow_networks": "127.0.0.0/8"}
# Webhook retries a test can wait for: the first after about 50 ms, four attempts in all.
FAST_RETRIES = {"webhook_retry_seconds": 0.05, "webhook_max_attempts": 4}


def _plugins_dir() -> Path:
    """Singer taps are installed once per machine for the tests, in a directory named by the
    catalog's pins and the plugin manager's layout (a venv per pin, which itself reuses an
    unchanged pin and installs a changed one anew): two checkouts with different pins or
    layouts never share, nor prune, each other's venvs."""
    pins = sorted(e.data["plugin"]["pip_url"] for e in load_entries() if e.data.get("plugin"))
    layout = "a venv per pin: <name>--<digest of its pip_url>"
    digest = hashlib.sha256("\n".join([*pins, layout]).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "connectorhub-test-plugins" / digest


TEST_PLUGINS_DIR = _plugins_dir()

# Tests only: argon2 at its cheapest (production keeps the library's default cost). Every
# workspace fixture creates a user, so the default cost would be paid over a thousand times.
# This process was imported before the variable could be set, so it is switched here; the hub
# processes the tests start get the variable (tests/fixtures/live_server.py: hub_env).
os.environ[passwords.CHEAP_FOR_TESTS_ENV] = "1"
passwords._hasher = passwords._make_hasher()
passwords._DUMMY_HASH = passwords._hasher.hash("no such user")

BOTH_BACKENDS = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`hub` is SQLite; a `both_backends` test gets it once per backend (same ids as before)."""
    if "hub" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("hub", BOTH_BACKENDS if marked else ["sqlite"], indirect=True)


PG_FIXTURES = {
    "postgres_hub",
    "postgres_client",
    "postgres_database",
    "source_db",
    "queue_database",
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("hub") == "postgresql"
        if on_pg or PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
    # The long tests first, so two workers do not end with one of them still in a long one.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


class SharedSetup:
    """A session-wide set-up done once: its value, or its failure, kept for every later test
    (a broken set-up fails each test at once instead of being retried by each)."""

    def __init__(self, what: str):
        self.what = what
        self.value: object = None
        self.failure: str | None = None
        self.skipped: str | None = None

    async def get(self, make):
        if self.failure is not None:
            pytest.fail(
                f"{self.what} failed earlier in this session: {self.failure}", pytrace=False
            )
        if self.skipped is not None:
            pytest.skip(self.skipped)
        if self.value is None:
            try:
                self.value = await make()
            except pytest.skip.Exception as skipped:
                self.skipped = str(skipped.msg)
                raise
            except BaseException as error:
                self.failure = f"{type(error).__name__}: {error}"
                raise
        return self.value


_postgres = SharedSetup("the shared PostgreSQL database")
_postgres_hub = SharedSetup("starting the Hub on the shared PostgreSQL database")
_started: list[Hub] = []
_databases: list[PostgresDatabase] = []


async def _make_shared_postgres() -> PostgresDatabase:
    if not await postgres_available():
        missing_service("PostgreSQL at 127.0.0.1:5432")
    database = await create_postgres_database()
    _databases.append(database)
    migrator = Hub(Settings(database_url=database.admin_url, secret_keys=TEST_KEYS))
    await migrate_and_seed(migrator)
    await migrator.stop()
    await grant_app_role(database)
    return database


async def shared_postgres() -> PostgresDatabase:
    """One migrated PostgreSQL database for the whole session (tests isolate by workspace)."""
    return await _postgres.get(_make_shared_postgres)


# Crons the tests run by calling them, never on the tests' worker: there they fire on a wall-clock
# boundary (and once as the worker starts) into whichever test runs then. keep_tokens_alive
# renews every token due within its five minutes, the tests' one-second tokens among them,
# adding a renewal to a test that counts them (tests/oauth/test_tokens.py).
CALLED_NOT_SCHEDULED = {keep_tokens_alive.__name__}


def _unschedule(queue: ProcrastinateQueue, names: set[str]) -> None:
    crons = queue.app.periodic_registry.periodic_tasks
    found = [key for key in crons if key[0] in names]
    assert len(found) == len(names), f"no such crons: {names - {key[0] for key in found}}"
    for key in found:
        del crons[key]


async def _make_shared_postgres_hub() -> Hub:
    database = await shared_postgres()
    hub = Hub(
        Settings(
            database_url=database.app_url,
            secret_keys=TEST_KEYS,
            plugins_dir=TEST_PLUGINS_DIR,
            warehouse_url=database.admin_url,
            **LOCAL_APIS,
            **FAST_RETRIES,
        )
    )
    await hub.start()
    _started.append(hub)
    assert isinstance(hub.jobs, ProcrastinateQueue)
    _unschedule(hub.jobs, CALLED_NOT_SCHEDULED)
    # A Procrastinate worker in this process runs what the tests queue, as `worker` would.
    hub.run_soon(
        hub.jobs.run_worker(
            install_signal_handlers=False, shutdown_graceful_timeout=5, name="tests"
        )
    )
    return hub


async def shared_postgres_hub() -> Hub:
    """The started Hub on the shared PostgreSQL database, as the non-superuser runtime role."""
    return await _postgres_hub.get(_make_shared_postgres_hub)


@pytest.fixture(scope="session", autouse=True)
async def _drop_postgres_at_end() -> AsyncIterator[None]:
    yield
    for hub in _started:
        await hub.stop()
    for database in _databases:
        await drop_postgres_database(database)
    await drop_app_role()


@pytest.fixture(scope="session")
async def postgres_database() -> PostgresDatabase:
    return await shared_postgres()


@pytest.fixture(scope="session")
async def sqlite_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """The started Hub on a migrated, seeded SQLite database, one per session."""
    data_dir: Path = tmp_path_factory.mktemp("sqlite")
    hub = Hub(
        Settings(
            data_dir=data_dir,
            secret_keys=TEST_KEYS,
            plugins_dir=TEST_PLUGINS_DIR,
            **LOCAL_APIS,
            **FAST_RETRIES,
        )
    )
    await migrate_and_seed(hub)
    await hub.start()
    yield hub
    await hub.stop()


@pytest.fixture(scope="session")
async def shared_pg_hub() -> Hub:
    return await shared_postgres_hub()


@pytest.fixture
def hub(request: pytest.FixtureRequest) -> Hub:
    """A started Hub on a migrated, seeded database: SQLite, or (`both_backends`) each backend.
    Function-scoped over the two session hubs, so tests of either backend may come in any order
    (as xdist hands them out) without a session hub being torn down and built again."""
    return request.getfixturevalue(
        "shared_pg_hub" if request.param == "postgresql" else "sqlite_hub"
    )


@pytest.fixture
async def postgres_hub() -> Hub:
    return await shared_postgres_hub()


@pytest.fixture
async def postgres_client(postgres_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub=postgres_hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="session")
async def fake_tap_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CONNECTORHUB_CATALOG_EXTRA_DIR with the fake Singer tap's entry (tests/fixtures/fake_tap.py),
    its plugin installed."""
    return await fake_tap.TAP.installed_catalog(tmp_path_factory, TEST_PLUGINS_DIR, TEST_KEYS)


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
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of the app's pages (cookies kept), not signed in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def owner_csrf(browser: httpx.AsyncClient, workspace) -> str:
    """`browser` signed in as the workspace's owner; its session's CSRF token."""
    return await sign_in(browser, workspace.owner)


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


@pytest.fixture(scope="module")
def wordpress() -> Iterator[WordPressSite]:
    """A real WordPress for this test module (tests/fixtures/wordpress.py)."""
    with wordpress_site() as site:
        yield site
