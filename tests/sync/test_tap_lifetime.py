"""A tap lives no longer than the hub that started it (issue 14 item 15): a real `connectorhub
serve` SIGKILLed mid-sync takes its tap (and the tap's own child) with it; the restart removes
the tap's working directory, config (the source password) included, before it resumes the sync;
and a sync never starts beside a process of its previous attempt (found by its environment
marker, whatever its parent is by then). The tap is tests/fixtures/slow_tap_plugin."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from connectorhub.sync import workdirs
from tests.conftest import TEST_PLUGINS_DIR
from tests.fixtures.live_server import live_server
from tests.sync.test_sync import discover_and_pick, wait_sync_finished

pytestmark = pytest.mark.tap
SECRET = "src-pw-" + uuid.uuid4().hex[:10]


async def until(done: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll `done` until it holds; fail after `seconds` (a bound, not a timing)."""
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {done}")


def traced(trace: Path) -> list[dict]:
    path = trace / "taps.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def holding(directory: Path, secret: str) -> list[Path]:
    """Files under `directory` whose bytes hold `secret`."""
    found = []
    for path in directory.rglob("*"):
        try:
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found


def sleeper(env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A process that only waits (a tap of an earlier attempt, say)."""
    code = "import time; time.sleep(3600)"
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **(env or {})})


@pytest.mark.slow
async def test_a_killed_serve_takes_its_tap_along_and_the_restart_leaves_no_secret(
    tmp_path, slow_tap_catalog
):
    data_dir, trace, private_tmp = tmp_path / "data", tmp_path / "trace", tmp_path / "tmp"
    trace.mkdir()
    private_tmp.mkdir()
    gate = tmp_path / "gate"
    env = {
        "CONNECTORHUB_CATALOG_EXTRA_DIR": str(slow_tap_catalog),
        "CONNECTORHUB_PLUGINS_DIR": str(TEST_PLUGINS_DIR),
        "TMPDIR": str(private_tmp),  # whatever the hub or its taps put in "/tmp" lands here
    }
    with live_server(data_dir, **env) as first:
        headers = first.headers
        async with httpx.AsyncClient(base_url=first.url, headers=headers) as http:
            created = await http.post("/api/connectors", json={
                "catalog_key": "slow", "name": "Orders",
                "config": {"rows": 3, "trace": str(trace), "gate": str(gate), "helper": True},
                "auth": {"username": "reader", "password": SECRET},
            })  # fmt: skip
            assert created.status_code == 201, created.text
            cid = created.json()["id"]
            await http.patch(f"/api/connectors/{cid}", json={"status": "active"})
            ws = SimpleNamespace(owner=SimpleNamespace(headers=headers))
            await discover_and_pick(
                http, ws, cid, replication_method="INCREMENTAL", replication_key="id"
            )
            started = await http.post(f"/api/connectors/{cid}/sync")
            assert started.status_code == 202, started.text
            run_id = started.json()["id"]
            await until(lambda: len(traced(trace)) == 1)  # the tap runs, held at its gate
        tap = traced(trace)[0]
        config = Path(tap["config"])
        assert config.parent.parent == workdirs.root_of(data_dir)  # not in /tmp
        assert SECRET in config.read_text()
        processes = [workdirs.ProcessId.of(tap[k]) for k in ("pid", "parent", "helper")]
        assert all(p is not None and p.alive() for p in processes)  # tap, supervisor, helper

        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        await until(lambda: not any(p.alive() for p in processes if p))
        assert config.exists()  # what a killed hub leaves: for the restart to remove

    with live_server(data_dir, **env) as second:
        # Start-up is over once the server answers: the killed run's directory is gone.
        assert not config.parent.exists()
        async with httpx.AsyncClient(base_url=second.url, headers=headers) as http:
            await until(lambda: len(traced(trace)) == 2)  # the requeued sync runs again …
            assert traced(trace)[1]["earlier_alive"] == []  # … beside nothing of the first
            helper = workdirs.ProcessId.of(traced(trace)[1]["helper"])
            gate.touch()
            run = await wait_sync_finished(http, ws, run_id)
        assert run["status"] == "succeeded", run
        assert helper is not None and not helper.alive()  # the tap's child ends with the tap
        assert list(workdirs.root_of(data_dir).iterdir()) == []  # nothing left after the run
    assert holding(private_tmp, SECRET) == [] and not list(private_tmp.glob("chub-tap-*"))
    assert holding(workdirs.root_of(data_dir), SECRET) == []


def stale_directory(root: Path, name: str, owner: dict) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / workdirs.OWNER).write_text(json.dumps(owner))
    (directory / "config.json").write_text(json.dumps({"password": SECRET}))
    return directory


def dead_owner() -> dict:
    """The owner record of a process that has ended."""
    process = sleeper()
    found = workdirs.ProcessId.of(process.pid)
    assert found is not None
    process.kill()
    process.wait()
    return {**workdirs.this_process(), "pid": found.pid, "started": found.started}


async def test_a_stale_directory_is_reaped_and_a_live_owners_is_kept(tmp_path):
    root = tmp_path / "taps"
    stale = stale_directory(root, "sync-a-1", dead_owner())
    live = stale_directory(root, "sync-b-1", workdirs.this_process())
    orphan = sleeper({workdirs.MARKER: stale.name})  # a tap the killed hub left running
    working = sleeper({workdirs.MARKER: live.name})  # a tap of a live hub, still at work
    try:
        orphan_id, working_id = (workdirs.ProcessId.of(p.pid) for p in (orphan, working))
        reaped = await workdirs.reap(root)
        orphan.wait(timeout=10)  # bounded: reap has killed it and waited until it was gone
        assert reaped.removed == 1 and not stale.exists()
        assert orphan_id is not None and not orphan_id.alive()
        assert live.exists() and (live / "config.json").exists()
        assert working_id is not None and working_id.alive()
    finally:
        for process in (orphan, working):
            process.kill()
            process.wait()


async def test_a_directory_without_its_owner_record_is_reaped_only_once_old(tmp_path):
    """A directory whose owner file is not there yet may be another process's, being made right
    now: only an old one is taken for a killed process's."""
    root = tmp_path / "taps"
    young, old = root / "sync-young-1", root / "sync-old-1"
    for directory in (young, old):
        directory.mkdir(parents=True)
        (directory / "config.json").write_text(json.dumps({"password": SECRET}))
    long_ago = time.time() - workdirs.UNOWNED_GRACE_SECONDS - 5
    os.utime(old, (long_ago, long_ago))
    reaped = await workdirs.reap(root)
    assert reaped.removed == 1 and not old.exists() and young.exists()


async def test_a_sync_does_not_start_while_a_process_of_its_previous_attempt_lives(
    client, workspace, hub, slow_tap_entry, tmp_path
):
    headers = workspace.owner.headers
    trace = tmp_path / "trace"
    trace.mkdir()
    created = await client.post("/api/connectors", json={
        "catalog_key": slow_tap_entry, "name": f"Orders {uuid.uuid4().hex[:6]}",
        "config": {"rows": 2, "trace": str(trace)},
        "auth": {"username": "reader", "password": SECRET},
    }, headers=headers)  # fmt: skip
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    await discover_and_pick(client, workspace, cid)
    # The previous attempt: its directory (its owner, this process, still runs: a hub whose
    # job was taken over) and its tap, which is no child of anyone here any more.
    root = workdirs.root_of(hub.settings.data_dir)
    earlier = stale_directory(root, f"sync-{cid}-earlier", workdirs.this_process())
    survivor = sleeper({workdirs.MARKER: earlier.name})
    try:
        survivor_id = workdirs.ProcessId.of(survivor.pid)
        (trace / "taps.jsonl").write_text(
            json.dumps({"pid": survivor.pid, "parent": 0, "helper": None, "config": ""}) + "\n"
        )
        started = await client.post(f"/api/connectors/{cid}/sync", headers=headers)
        assert started.status_code == 202, started.text
        run = await wait_sync_finished(client, workspace, started.json()["id"])
        assert run["status"] == "succeeded", run
        assert "of an earlier attempt" in run["log_tail"]
        assert traced(trace)[1]["earlier_alive"] == []  # gone before the tap started
        assert survivor_id is not None and not survivor_id.alive()
    finally:
        survivor.kill()
        survivor.wait()
        shutil.rmtree(earlier, ignore_errors=True)  # its owner lives: nobody else removes it
