"""The charts of runs people look at: a small one per installed card (its latest runs), a larger
one on a connector's history page, and the workspace's runs per day on the history lists.
The SQL is the run tables' (run/repository.py); the drawing is web/charts.py's."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from markupsafe import Markup

from connectorhub.execution import service as executions
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync import service as syncs
from connectorhub.web.charts import RunPoint, daily_chart, fill_days, runs_chart

CARD_RUNS = 20
HISTORY_RUNS = 60
DAYS = 30
CHARTED = ("http", "source")  # publishers' publications have their own history


def _points(rows: list[Any]) -> dict[uuid.UUID, list[RunPoint]]:
    by_connector: dict[uuid.UUID, list[RunPoint]] = {}
    for row in rows:
        loaded = sum((row.rows or {}).values()) if "rows" in row._fields else None
        point = RunPoint(row.created_at, row.status, row.duration_ms, loaded)
        by_connector.setdefault(row.connector_id, []).append(point)
    return by_connector


async def _latest(scope: WorkspaceScope, connectors: list[Any], limit: int):
    http = [c.id for c in connectors if c.kind == "http"]
    sources = [c.id for c in connectors if c.kind == "source"]
    found = _points(await executions.latest_per_connector(scope, http, limit))
    found.update(_points(await syncs.latest_per_connector(scope, sources, limit)))
    return found


def _chart(connector: Any, points: list[RunPoint], size: str) -> Markup:
    source = connector.kind == "source"
    return runs_chart(
        points, chart_id=f"chart-{size}-{connector.id}", size=size,
        label=f"{'Syncs' if source else 'Runs'} of {connector.name}",
        measure="rows" if source else "duration",
    )  # fmt: skip


async def card_charts(scope: WorkspaceScope, connectors: list[Any]) -> dict[uuid.UUID, Markup]:
    """By connector id, the small chart of each HTTP or source connector's latest runs (two
    statements, whatever the number of cards)."""
    charted = [c for c in connectors if c.kind in CHARTED]
    latest = await _latest(scope, charted, CARD_RUNS)
    return {c.id: _chart(c, latest.get(c.id, []), "small") for c in charted}


async def history_chart(scope: WorkspaceScope, kind: str, connector: Any | None) -> Markup:
    """`kind` executions or syncs: one connector's latest runs, else the workspace's per day."""
    if connector is not None:
        latest = await _latest(scope, [connector], HISTORY_RUNS)
        return _chart(connector, latest.get(connector.id, []), "large")
    today = utcnow().date()
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(DAYS - 1)
    domain = executions if kind == "executions" else syncs
    days = fill_days(await domain.per_day(scope, since), until=today, days=DAYS)
    label = f"{'Executions' if kind == 'executions' else 'Syncs'} per day"
    return daily_chart(days, chart_id=f"chart-{kind}-per-day", label=label)
