"""The real tap-salesforce, installed from its catalog entry into its own virtualenv: offline
(this machine cannot reach Salesforce), its connection test fails cleanly with the tap's own
error, no secret in sight, the connector in `error` and the workspace told.

One backend only: the tap's own retries make each attempt take ~45 s, and what is tested here
(the tap's failure reaching the user) does not depend on the database."""

from __future__ import annotations

import json

import httpx
import pytest

from connectorhub.app import create_app
from connectorhub.config import Settings
from connectorhub.hub import Hub
from connectorhub.lifecycle import migrate_and_seed
from tests.conftest import TEST_KEYS, TEST_PLUGINS_DIR
from tests.fixtures.factories import make_workspace

pytestmark = [pytest.mark.tap, pytest.mark.slow]

SECRETS = {
    "access_token": "00Dxx0000000001!AQ4AQFake.access.token",
    "refresh_token": "5Aep861FakeRefreshTokenValue",
    "client_secret": "F4KE5ECRETVALUE0123",
}


async def test_offline_connection_test_fails_with_the_taps_own_error(tmp_path):
    hub = Hub(Settings(data_dir=tmp_path, secret_keys=TEST_KEYS, plugins_dir=TEST_PLUGINS_DIR))
    await migrate_and_seed(hub)
    await hub.start()
    try:
        workspace = await make_workspace(hub)
        transport = httpx.ASGITransport(app=create_app(hub=hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            headers = workspace.owner.headers
            created = await client.post(
                "/api/connectors",
                json={"catalog_key": "salesforce", "name": "Org",
                      "config": {"start_date": "2024-01-01T00:00:00Z", "api_type": "REST"},
                      "auth": {**SECRETS, "client_id": "3MVG9FakeConsumerKey"}},
                headers=headers,
            )  # fmt: skip
            assert created.status_code == 201, created.text
            cid = created.json()["id"]
            tested = await client.post(f"/api/connectors/{cid}/test", headers=headers)
            assert tested.status_code == 200
            result = tested.json()
            assert result["ok"] is False and result["streams"] == []
            # The tap's own words: it could not reach Salesforce's login endpoint.
            assert "login.salesforce.com" in result["error"], result
            assert "tap_salesforce" in result["stderr_tail"]
            assert result["error_kind"] == "config"
            for secret in SECRETS.values():
                assert secret not in json.dumps(result)
            after = (await client.get(f"/api/installed/{cid}", headers=headers)).json()
            assert after["status"] == "error" and "login.salesforce.com" in after["status_reason"]
            notes = (await client.get("/api/notifications", headers=headers)).json()["items"]
            assert notes[0]["kind"] == "source.config_failed"
            # Installed at its pin, in a venv of its own (<name>--<digest of the pip_url>).
            assert list(TEST_PLUGINS_DIR.glob("tap-salesforce--*/bin/tap-salesforce"))
    finally:
        await hub.stop()
