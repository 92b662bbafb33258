"""`connectorhub run`: an active HTTP connector run by a real `connectorhub` process on the
embedded default, against a local server playing the third party; the execution printed as
JSON, exit 0 when it succeeded and 1 when it failed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.execution.test_endpoints import http_connector
from tests.fixtures.live_server import CLI, hub_env, live_server
from tests.fixtures.third_party import ThirdParty, third_party_server

pytestmark = pytest.mark.slow


def _install(server, body: dict) -> dict:
    created = httpx.post(f"{server.url}/api/connectors", json=body, headers=server.headers)
    assert created.status_code == 201, created.text
    url = f"{server.url}/api/connectors/{created.json()['id']}"
    active = httpx.patch(url, json={"status": "active"}, headers=server.headers)
    assert active.status_code == 200, active.text
    return active.json()


async def _cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args,
        env=hub_env(data_dir, CONNECTORHUB_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
async def api():
    async with third_party_server() as server:
        yield server


async def test_run_prints_the_execution_and_exits_by_its_outcome(tmp_path, api: ThirdParty):
    data_dir = tmp_path / "data"
    api.json("/v1/login", {"token": "sess-123"})
    api.json("/v1/users/7", {"name": "Ada"})
    with live_server(data_dir) as server:
        workspace = server.workspace
        ok = _install(server, http_connector(api, name="Profiles"))
        broken = http_connector(api, name="Broken")
        broken["definition"]["steps"][1]["url"] = "/missing/{{input.user}}"
        _install(server, broken)

    run = json.dumps({"user": 7, "password": "pw-secret-1"})
    code, stdout, stderr = await _cli(
        data_dir, "run", "Profiles", "--workspace", workspace, "--input", run
    )
    assert code == 0, stderr
    succeeded = json.loads(stdout)
    assert succeeded["status"] == "succeeded" and succeeded["connector_id"] == ok["id"]
    assert succeeded["output"] == {"user": 7, "name": "Ada"}
    assert succeeded["trigger"] == "manual"
    assert "pw-secret-1" not in stdout
    assert [hit.path for hit in api.hits] == ["/v1/login", "/v1/users/7"]

    by_id = await _cli(data_dir, "run", ok["id"], "--workspace", workspace, "--input", run)
    assert by_id[0] == 0 and json.loads(by_id[1])["status"] == "succeeded"

    code, stdout, _ = await _cli(
        data_dir, "run", "Broken", "--workspace", workspace, "--input", run
    )
    failed = json.loads(stdout)
    assert code == 1 and failed["status"] == "failed" and "404" in failed["error"]

    code, _, stderr = await _cli(data_dir, "run", "Nope", "--workspace", workspace)
    assert code == 1 and "no connector 'Nope'" in stderr
    code, _, stderr = await _cli(
        data_dir, "run", "Profiles", "--workspace", workspace, "--input", "[1]"
    )
    assert code == 1 and "must be a JSON object" in stderr
