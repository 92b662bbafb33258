"""schemathesis over the OpenAPI schema, authenticated, against a real server: no 5xx, ever,
and no status the document does not list for that operation.

Runs once per backend: PostgreSQL rejects inputs SQLite takes (NUL bytes, say), so both matter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_KEYS
from tests.fixtures.live_server import live_server

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

MAX_EXAMPLES = os.environ.get("CONNECTORHUB_FUZZ_EXAMPLES", "40")


def run_schemathesis(url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    return subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,status_code_conformance",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "20261122",
            "--no-color",
            "--exclude-path",
            "/api/tokens/{token_id}",  # revoking its own token would end the run
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        # Its own working directory: schemathesis keeps a cache in ./.schemathesis, which the
        # two fuzz tests (on two xdist workers at once) would otherwise both rewrite.
        cwd=report.parent,
    )


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, f"schemathesis found failures:\n{tail}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout


def test_no_server_errors_on_sqlite(tmp_path):
    with live_server(tmp_path / "data") as server:
        _assert_clean(run_schemathesis(server.url, server.token, tmp_path / "junit.xml"))
    assert "Traceback" not in "".join(server.output)


async def test_no_server_errors_on_postgres(tmp_path, postgres_hub):
    from connectorhub.tenant.models import Role
    from tests.fixtures.factories import make_workspace

    workspace = await make_workspace(postgres_hub)
    admin = workspace.owner
    assert admin.role == Role.owner
    env = {
        "CONNECTORHUB_DATABASE_URL": postgres_hub.settings.database_url or "",
        "CONNECTORHUB_SECRET_KEYS": TEST_KEYS,
    }
    with live_server(tmp_path / "data", **env) as server:
        _assert_clean(run_schemathesis(server.url, admin.token, tmp_path / "junit.xml"))
