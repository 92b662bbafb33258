"""What starts an execution is recorded: `flow` when a flow builder says so (header or field),
`schedule` when an HTTP connector's cron schedule comes round."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from connectorhub.kit.models import utcnow
from connectorhub.sync.tasks import start_scheduled_syncs
from tests.execution.test_endpoints import http_connector, install, play_api, wait_finished
from tests.fixtures.browser_session import hx, sign_in

RUN = {"user": 7, "password": "pw"}


async def test_a_flow_says_so_by_header_or_field(client, workspace, api):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))
    path, headers = f"/api/connectors/{connector['id']}/execute", workspace.owner.headers
    by_header = await client.post(
        path, json={"input": RUN}, headers={**headers, "X-ConnectorHub-Trigger": "flow"}
    )
    by_field = await client.post(path, json={"input": RUN, "trigger": "flow"}, headers=headers)
    plain = await client.post(path, json={"input": RUN}, headers=headers)
    assert by_header.status_code == by_field.status_code == plain.status_code == 202
    assert by_header.json()["trigger"] == by_field.json()["trigger"] == "flow"
    assert plain.json()["trigger"] == "api"
    assert (await wait_finished(client, workspace, by_header.json()["id"]))["trigger"] == "flow"
    listed = await client.get(f"/api/executions?connector_id={connector['id']}", headers=headers)
    assert sorted(e["trigger"] for e in listed.json()["items"]) == ["api", "flow", "flow"]
    # Only api and flow may be claimed by a caller: schedule and manual are the hub's to say.
    refused = await client.post(path, json={"input": RUN, "trigger": "schedule"}, headers=headers)
    assert refused.status_code == 422


def _scheduled(api):
    body = http_connector(api)
    body["definition"]["input_schema"]["properties"]["user"]["default"] = 7
    body["definition"]["input_schema"]["properties"]["password"]["default"] = "pw"
    body["definition"]["input_schema"]["required"] = []
    return body


@pytest.mark.both_backends
async def test_an_http_connector_runs_on_its_schedule(client, workspace, api, hub):
    play_api(api)
    connector = await install(client, workspace, _scheduled(api))
    cid, headers = connector["id"], workspace.owner.headers
    saved = await client.put(
        f"/api/connectors/{cid}/schedule", json={"cron": "*/5 * * * *"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["cron"] == "*/5 * * * *" and saved.json()["next_sync_at"]

    later = utcnow() + timedelta(minutes=10)
    await start_scheduled_syncs(hub.context, now=later)
    listed = (await client.get(f"/api/executions?connector_id={cid}", headers=headers)).json()
    assert listed["total"] == 1
    run = await wait_finished(client, workspace, listed["items"][0]["id"])
    assert run["trigger"] == "schedule" and run["status"] == "succeeded", run["error"]
    assert run["output"] == {"user": 7, "name": "Ada"}
    after = (await client.get(f"/api/installed/{cid}", headers=headers)).json()
    assert datetime.fromisoformat(after["next_sync_at"]) > later  # moved on to the next time

    # Not due again until then: the same moment starts nothing more.
    await start_scheduled_syncs(hub.context, now=later)
    listed = (await client.get(f"/api/executions?connector_id={cid}", headers=headers)).json()
    assert listed["total"] == 1


async def test_a_scheduled_run_without_its_required_input_is_skipped_and_told(
    client, workspace, api, hub
):
    play_api(api)
    connector = await install(client, workspace, http_connector(api))  # `user` required
    cid, headers = connector["id"], workspace.owner.headers
    await client.put(f"/api/connectors/{cid}/schedule", json={"cron": "@hourly"}, headers=headers)
    await start_scheduled_syncs(hub.context, now=utcnow() + timedelta(hours=2))
    listed = (await client.get(f"/api/executions?connector_id={cid}", headers=headers)).json()
    assert listed["total"] == 0
    notes = (await client.get("/api/notifications", headers=headers)).json()["items"]
    assert notes[0]["kind"] == "connector.schedule_skipped" and "input.user" in notes[0]["body"]


async def test_a_publisher_cannot_be_scheduled(client, workspace):
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "wordpress", "name": "Blog",
              "config": {"base_url": "https://blog.example.com", "site_label": "Blog"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    refused = await client.put(
        f"/api/connectors/{created.json()['id']}/schedule", json={"cron": "@hourly"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert refused.status_code == 400 and "HTTP connectors" in refused.json()["detail"]


async def test_the_http_card_sets_a_schedule(browser, client, workspace, api):
    connector = await install(client, workspace, _scheduled(api))
    csrf = await sign_in(browser, workspace.owner)
    form = await browser.get(f"/connectors/{connector['id']}/schedule", headers=hx())
    assert 'data-testid="schedule-form"' in form.text
    saved = await browser.post(
        f"/connectors/{connector['id']}/schedule", data={"cron": "@hourly", "timezone": "UTC"},
        headers=hx(csrf),
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert "runs on" in saved.headers["HX-Trigger"]
    assert (
        "<code>@hourly</code> UTC" in saved.text and 'data-testid="schedule-button"' in saved.text
    )
