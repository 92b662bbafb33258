"""What the execution and sync history pages share: runs of the workspace's connectors as cards,
filtered by connector and status, and the move to a run's live page once it is started."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connectorhub.connector import run_charts
from connectorhub.connector import service as connectors
from connectorhub.kit.repository import Page
from connectorhub.web.templating import render, toast_header, ui_prefix


async def render_history(
    request: Request, page: Any, found: Page[Any], *, kind: str, connector_id: uuid.UUID | None,
    status: str, statuses: list[str],
) -> Response:  # fmt: skip
    """`kind`: `executions` or `syncs` (the section, the URL, the names in the page)."""
    connector = await connectors.read(page.scope, connector_id) if connector_id else None
    names = {c.id: c.name for c in (await connectors.search(page.scope, page_size=200)).items}
    context = {
        "section": kind, "kind": kind, "runs": found.items, "total": found.total,
        "connector": connector, "names": names, "status": status, "statuses": statuses,
        "chart": await run_charts.history_chart(page.scope, kind, connector),
    }  # fmt: skip
    return render(request, f"{kind.rstrip('s')}/history.html", context)


def go_to_run(request: Request, path: str, message: str, *, live: bool = False) -> Response:
    """A toast, the modal closed, and the page moved to the run just started (`live`: a page
    that follows the run, and the toast stays until it has finished)."""
    headers = toast_header(message, close_modal=True, until_finished=live)
    headers["HX-Location"] = f'{{"path": "{ui_prefix(request)}{path}", "target": "#main"}}'
    return Response(status_code=200, headers=headers)
