"""Both ways with the real `meltano` package (in a venv of its own, cached beside the tests'
taps): a project naming the tests' fake tap is imported and synced; the CLI imports it, exports
it, and `meltano` takes the exported file (`config list`, `select --list`, `schedule list`,
and `meltano run` of the schedule's job)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from connectorhub.kit.plugins import PluginManager, clean_env
from tests.cli import test_cli
from tests.conftest import TEST_PLUGINS_DIR
from tests.fixtures import fake_tap
from tests.sync.test_sync import sync_and_wait

pytestmark = [pytest.mark.tap, pytest.mark.slow]
# The CLI tests' data dir: migrated once per session, copied per test.
migrated_data_dir, data_dir, run = test_cli.migrated_data_dir, test_cli.data_dir, test_cli.run

MELTANO = {"name": "meltano-4.4.1", "pip_url": "meltano==4.4.1", "executable": "meltano"}
TOKEN = "tok-Secret-42"
PROJECT = """\
default_environment: dev
environments:
- name: dev
- name: big
  config:
    plugins:
      extractors:
      - name: tap-fake
        config:
          rows: 12
plugins:
  extractors:
  - name: tap-fake
    namespace: tap_fake
    pip_url: {pip_url}
    executable: tap-fake
    capabilities: [discover, catalog, state]
    settings:
    - name: rows
      kind: integer
    - name: token
      kind: password
      sensitive: true
    config:
      rows: 5
      token: $TAP_FAKE_TOKEN
    select:
    - public-orders.*
    metadata:
      public-orders:
        replication-method: INCREMENTAL
        replication-key: id
  loaders:
  - name: target-jsonl
    variant: andyh1203
    pip_url: target-jsonl
schedules:
- name: fake-hourly
  extractor: tap-fake
  loader: target-jsonl
  interval: '@hourly'
"""


@pytest.fixture(scope="session")
def meltano() -> Path:
    """The `meltano` executable, installed once per machine (the plugin manager's lock keeps
    two workers apart)."""
    manager = PluginManager(TEST_PLUGINS_DIR.parent / "tools")
    with ThreadPoolExecutor(1) as pool:  # callable from sync and async tests alike
        pool.submit(asyncio.run, manager.install(MELTANO)).result()
    return manager.executable(MELTANO)


def project_text() -> str:
    return PROJECT.format(pip_url=fake_tap.TAP.installable_source(TEST_PLUGINS_DIR))


def run_meltano(meltano: Path, directory: Path, *args: str, **env: str) -> str:
    environment = {**clean_env(), "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    done = subprocess.run(
        [str(meltano), *args], cwd=directory, env=environment, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def test_an_imported_project_syncs(client, hub, workspace, monkeypatch):
    monkeypatch.setattr(hub.settings, "meltano_custom_taps", True)
    imported = await client.post(
        "/api/meltano/import", files={"file": ("meltano.yml", project_text().encode())},
        data={"secret.TAP_FAKE_TOKEN": TOKEN, "environment": "big"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert imported.status_code == 200, imported.text
    [connector] = (await client.get("/api/connectors", headers=workspace.owner.headers)).json()[
        "items"
    ]
    assert connector["config"] == {"rows": 12}
    tested = await client.post(
        f"/api/connectors/{connector['id']}/test", headers=workspace.owner.headers
    )
    assert tested.status_code == 200 and tested.json()["ok"], tested.text
    run_ = await sync_and_wait(client, workspace, connector["id"])
    assert run_["status"] == "succeeded", run_
    assert run_["rows"] == {fake_tap.STREAM: 12}
    assert TOKEN not in str(run_)


def test_the_cli_imports_and_meltano_reads_the_export(data_dir, meltano, tmp_path):
    assert run(data_dir, "workspaces", "create", "acme").returncode == 0
    source = tmp_path / "in" / "meltano.yml"
    source.parent.mkdir()
    source.write_text(project_text())
    allow = {"CONNECTORHUB_MELTANO_CUSTOM_TAPS": "true"}

    preview = run(
        data_dir, "meltano", "import", str(source), "--workspace", "acme", "--dry-run", **allow
    )
    assert preview.returncode == 0, preview.stderr
    assert "create tap-fake (a new tap" in preview.stdout
    assert "needs:  TAP_FAKE_TOKEN" in preview.stdout and "schedule: @hourly" in preview.stdout

    refused = run(data_dir, "meltano", "import", str(source), "--workspace", "acme", **allow)
    assert refused.returncode == 1 and "TAP_FAKE_TOKEN" in refused.stderr
    assert run(data_dir, "meltano", "export", "--workspace", "acme").stdout.count("tap-fake") == 0

    done = run(
        data_dir, "meltano", "import", str(source), "--workspace", "acme",
        "--set", f"TAP_FAKE_TOKEN={TOKEN}", **allow,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sealed: token" in done.stdout and TOKEN not in done.stdout + done.stderr

    exported = tmp_path / "out" / "meltano.yml"
    exported.parent.mkdir()
    wrote = run(data_dir, "meltano", "export", "--workspace", "acme", "-o", str(exported))
    assert wrote.returncode == 0, wrote.stderr
    text = exported.read_text()
    assert TOKEN not in text and "token: $TAP_FAKE_TOKEN" in text
    assert yaml.safe_load(text)["schedules"][0]["name"] == "fake-hourly"

    directory = exported.parent
    listed = run_meltano(meltano, directory, "config", "list", "tap-fake")
    assert "rows [env: TAP_FAKE_ROWS] current value: 5 (from `meltano.yml`)" in listed
    assert "token [env: TAP_FAKE_TOKEN] current value: None" in listed
    given = run_meltano(meltano, directory, "config", "list", "tap-fake", TAP_FAKE_TOKEN="x")
    assert "token [env: TAP_FAKE_TOKEN] current value: (redacted)" in given
    assert "_metadata.public-orders.replication-method" in listed and "'INCREMENTAL'" in listed

    run_meltano(meltano, directory, "install", "extractor", "tap-fake")
    selected = run_meltano(meltano, directory, "select", "tap-fake", "--list")
    assert "Enabled patterns:\n\tpublic-orders.*" in selected
    for column in ("id", "customer", "amount"):
        assert f"[selected   ] public-orders.{column}" in selected
    schedules = run_meltano(meltano, directory, "schedule", "list")
    assert "fake-hourly" in schedules and "@hourly" in schedules

    # `meltano run` takes the exported job: the tap's rows reach the exported loader
    run_meltano(meltano, directory, "install", "loader", "target-jsonl")
    run_meltano(meltano, directory, "run", "sync-tap-fake", TAP_FAKE_TOKEN="x")
    [written] = list(directory.glob("public-orders-*.jsonl"))
    assert [json.loads(line)["id"] for line in written.read_text().splitlines()] == [1, 2, 3, 4, 5]
