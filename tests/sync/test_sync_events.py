"""A sync run's live progress (GET /api/sync-runs/{id}/events): rows as they are loaded, the
status, then `end`; another workspace's run is a 404. The tap is tests/fixtures/slow_tap_plugin,
held at its gate after its first row so the run is seen mid-way."""

from __future__ import annotations

import json
import uuid

import pytest

from connectorhub.sync import service
from tests.sync.test_sync import discover_and_pick, wait_sync_finished

pytestmark = pytest.mark.tap
PASSWORD = "src-pw-" + uuid.uuid4().hex[:10]


async def gated_sync(client, ws, entry: str, gate) -> str:
    """A two-row sync of the slow tap, started and held at its gate after the first row."""
    created = await client.post("/api/connectors", json={
        "catalog_key": entry, "name": f"Orders {uuid.uuid4().hex[:6]}",
        "config": {"rows": 2, "gate": str(gate)},
        "auth": {"username": "reader", "password": PASSWORD},
    }, headers=ws.owner.headers)  # fmt: skip
    assert created.status_code == 201, created.text
    await discover_and_pick(client, ws, created.json()["id"])
    started = await client.post(
        f"/api/connectors/{created.json()['id']}/sync", headers=ws.owner.headers
    )
    assert started.status_code == 202, started.text
    return started.json()["id"]


async def read_events(client, headers, run_id: str) -> list[tuple[str, dict]]:
    events, kind = [], None
    async with client.stream("GET", f"/api/sync-runs/{run_id}/events", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


# SQLite only: the slow tap's fixture seeds its entry on SQLite hubs (the PostgreSQL path of
# following a run is the executions' own, tested on both backends).
async def test_rows_arrive_while_the_sync_runs_then_it_ends(
    client, workspace, hub, slow_tap_entry, tmp_path
):
    gate = tmp_path / "gate"
    run_id = await gated_sync(client, workspace, slow_tap_entry, gate)
    seen: list[tuple[str, dict]] = []

    async def never() -> bool:
        return False

    following = service.follow(
        hub.work, workspace.slug, uuid.UUID(run_id), lambda run: {"status": run.status},
        stop=never,
    )  # fmt: skip
    async for event, data in following:
        seen.append((event, data))
        if event == "rows" and data["total"] == 1:
            gate.touch()  # the first row was told while the tap still ran: let it finish
    assert ("status", {"status": "running"}) in seen
    assert seen[-1] == ("end", {"status": "succeeded"})
    totals = [data["total"] for event, data in seen if event == "rows"]
    assert totals[-1] == 2 and 1 in totals

    # The endpoint streams the same story (the run is over: it starts with the end state).
    events = await read_events(client, workspace.owner.headers, run_id)
    assert [kind for kind, _ in events] == ["rows", "status", "end"]
    assert events[0][1] == {"rows": {"public-orders": 2}, "total": 2}
    assert events[1][1]["status"] == "succeeded" and events[1][1]["id"] == run_id
    assert events[-1][1] == {"status": "succeeded"}
    assert PASSWORD not in json.dumps(events)


async def test_another_workspaces_run_is_not_found(
    client, workspace, other_workspace, slow_tap_entry, tmp_path
):
    gate = tmp_path / "gate"
    gate.touch()  # no wait
    run_id = await gated_sync(client, workspace, slow_tap_entry, gate)
    await wait_sync_finished(client, workspace, run_id)
    foreign = await client.get(
        f"/api/sync-runs/{run_id}/events", headers=other_workspace.owner.headers
    )
    assert foreign.status_code == 404
    assert "text/event-stream" not in foreign.headers["content-type"]
    unknown = await client.get(
        f"/api/sync-runs/{uuid.uuid4()}/events", headers=workspace.owner.headers
    )
    assert unknown.status_code == 404
