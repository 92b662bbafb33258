"""What a `connectorhub worker` does as it starts, on PostgreSQL: the `@at_every_start` work, so
the tap directories (config files with a source's password) that a killed worker or `serve` of
this host left are removed, and a tap still running from one is stopped; a live process's
directory is kept. The embedded default's `@at_startup` work (requeueing, which assumes a
single worker) is not done here."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from connectorhub.config import Settings
from connectorhub.hub import Hub
from connectorhub.sync import workdirs
from connectorhub.worker.registry import AT_EVERY_START, AT_STARTUP
from tests.conftest import TEST_KEYS
from tests.fixtures.live_server import CLI, free_port, hub_env, wait_healthy
from tests.sync.test_tap_lifetime import dead_owner, sleeper, stale_directory, until
from tests.worker.conftest import worker_process

pytestmark = [pytest.mark.xdist_group("worker-start")]


def test_tap_directories_are_reaped_by_every_process_the_requeueing_only_embedded():
    assert "remove_stale_tap_directories" in AT_EVERY_START
    assert "remove_stale_tap_directories" not in AT_STARTUP
    assert (
        "requeue_unfinished_syncs" in AT_STARTUP
        and "requeue_unfinished_syncs" not in AT_EVERY_START
    )


async def test_a_starting_worker_reaps_stale_tap_directories(queue_database, tmp_path):
    root = workdirs.root_of(tmp_path)
    stale = stale_directory(root, "sync-a-1", dead_owner())
    live = stale_directory(root, "test-b-1", workdirs.this_process())
    orphan = sleeper({workdirs.MARKER: stale.name})
    try:
        orphan_id = workdirs.ProcessId.of(orphan.pid)
        assert orphan_id is not None
        with worker_process(queue_database, "reaper", tmp_path) as worker:
            await until(lambda: not stale.exists() or worker.poll() is not None)
            assert worker.poll() is None, "".join(worker.output)  # type: ignore[attr-defined]
        assert not orphan_id.alive()
        assert live.exists() and (live / "config.json").exists()
    finally:
        orphan.kill()
        orphan.wait()


async def test_serve_on_postgresql_reaps_them_too(queue_database, tmp_path):
    """`serve` runs connection tests (taps) itself on PostgreSQL too, and jobs on no worker."""
    stale = stale_directory(workdirs.root_of(tmp_path), "test-a-1", dead_owner())
    settings = Settings(
        database_url=queue_database.app_url, secret_keys=TEST_KEYS, data_dir=tmp_path
    )
    hub = Hub(settings)
    async with hub.running():
        await hub.start_embedded_worker()
    assert not stale.exists()


@pytest.mark.slow
def test_serve_on_postgresql_runs_several_processes_on_one_port(queue_database, tmp_path):
    port = free_port()
    env = hub_env(
        tmp_path, CONNECTORHUB_DATABASE_URL=queue_database.app_url,
        CONNECTORHUB_SECRET_KEYS=TEST_KEYS,
    )  # fmt: skip
    serve = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(serve.stdout), daemon=True).start()  # type: ignore[arg-type]
    try:
        wait_healthy(f"http://127.0.0.1:{port}", time.monotonic() + 120, serve, output)
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        servers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(servers) == 2, [Path(f"/proc/{c}/cmdline").read_bytes() for c in children]
        for _ in range(20):
            answer = httpx.get(f"http://127.0.0.1:{port}/api/installed", timeout=10)
            assert answer.status_code == 401  # served (by either process), not refused
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
