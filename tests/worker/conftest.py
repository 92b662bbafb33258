"""Fixtures for tests with real `connectorhub worker` processes on a PostgreSQL of their own."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.app import create_app
from connectorhub.config import Settings
from connectorhub.hub import Hub
from connectorhub.lifecycle import migrate_and_seed
from tests.conftest import LOCAL_APIS, TEST_KEYS
from tests.fixtures.database import (
    PostgresDatabase,
    create_postgres_database,
    drop_postgres_database,
    grant_app_role,
    missing_service,
    postgres_available,
)
from tests.fixtures.live_server import CLI, hub_env

STALLED_AFTER = 3  # seconds: short, so a killed worker's job is retried within the test


# The queue's own tables: emptied before each test, so each test starts with a queue of its own.
QUEUE_TABLES = (
    "procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers"
)


@pytest.fixture(scope="module")
async def module_queue_database(fake_tap_catalog: Path) -> AsyncIterator[PostgresDatabase]:
    """A database of the module's own (its tests run on one xdist worker: see `xdist_group`),
    migrated once; no other module's worker may take these jobs. The fake tap's catalog entry is
    seeded in it too."""
    if not await postgres_available():
        missing_service("PostgreSQL at 127.0.0.1:5432")
    database = await create_postgres_database()
    migrator = Hub(
        Settings(
            database_url=database.admin_url,
            secret_keys=TEST_KEYS,
            catalog_extra_dir=fake_tap_catalog,
        )
    )
    await migrate_and_seed(migrator)
    await migrator.stop()
    await grant_app_role(database)
    yield database
    await drop_postgres_database(database)


@pytest.fixture
async def queue_database(module_queue_database: PostgresDatabase) -> PostgresDatabase:
    """The module's database with an empty queue: no job, event or worker of an earlier test."""
    engine = create_async_engine(module_queue_database.admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f"TRUNCATE {QUEUE_TABLES} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    return module_queue_database


@pytest.fixture
async def queuing_hub(queue_database: PostgresDatabase) -> AsyncIterator[Hub]:
    """The API side: defers jobs, runs none."""
    hub = Hub(Settings(database_url=queue_database.app_url, secret_keys=TEST_KEYS, **LOCAL_APIS))
    async with hub.running():
        yield hub


@pytest.fixture
async def client(queuing_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub=queuing_hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@contextmanager
def worker_process(
    database: PostgresDatabase, name: str, data_dir: Path, **extra_env: str
) -> Iterator[subprocess.Popen[str]]:
    env = hub_env(
        data_dir,  # empty: a worker needs only the database URL and the keys
        CONNECTORHUB_DATABASE_URL=database.app_url,
        CONNECTORHUB_SECRET_KEYS=TEST_KEYS,
        CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",
        CONNECTORHUB_WORKER_STALLED_AFTER_SECONDS=str(STALLED_AFTER),
        **extra_env,
    )
    process = subprocess.Popen(
        [*CLI, "worker", "--name", name, "--concurrency", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
    process.output = output  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
