"""Destination pages: the workspace's destination in the settings (the built-in warehouse or
an installed Singer target), and a source's own pick from its card. Rules are
sync/destinations.py's, as for /api/destination and /api/connectors/{id}/destination."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.connector import service as connectors
from connectorhub.exceptions import HubError, NotFound
from connectorhub.sync import destinations
from connectorhub.sync.warehouse import embedded_kind
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, toast_header

router = page_router()
CARD_RIGHTS = {"can_edit": True, "can_run": True}


def _picked(form: Any) -> uuid.UUID | None:
    """The form's `destination_id` ('' for the built-in warehouse). Raises ValueError."""
    value = str(form.get("destination_id") or "").strip()
    return uuid.UUID(value) if value else None


def _source_pick(form: Any) -> tuple[uuid.UUID | None, bool]:
    """The modal's `destination_id`: '' (follow the workspace), 'warehouse' (the built-in
    warehouse) or a target's id, as (target id, warehouse). Raises ValueError."""
    if str(form.get("destination_id") or "").strip() == destinations.BUILT_IN:
        return None, True
    return _picked(form), False


def _built_in(request: Request, page: Any) -> str:
    settings = request.app.state.hub.settings
    if settings.warehouse_url:
        return "PostgreSQL warehouse"
    kind = embedded_kind(settings, page.scope.tenant_id)
    return "DuckDB file" if kind == "duckdb" else "SQLite file"


async def _settings(request: Request, page: PageViewer, **extra: Any) -> Response:
    request.state.page = page
    context = {
        "section": "destination", "choice": await destinations.workspace_choice(page.scope),
        "targets": await destinations.targets(page.scope), "built_in": _built_in(request, page),
        "can_edit": page.principal.effective_role.at_least(Role.admin), "error": None, **extra,
    }  # fmt: skip
    headers = toast_header(extra["toast"]) if extra.get("toast") else None
    return render(request, "settings/destination.html", context, headers=headers)


@router.get("/settings/destination")
async def settings_page(request: Request, page: PageViewer) -> Response:
    return await _settings(request, page)


@router.post("/settings/destination")
async def pick_for_workspace(request: Request, page: PageAdmin) -> Response:
    try:
        await destinations.set_workspace_default(page.scope, _picked(await request.form()))
    except ValueError:
        return await _settings(request, page, error="Pick one of the listed destinations.")
    except HubError as exc:
        return await _settings(request, page, error=exc.message)
    choice = await destinations.workspace_choice(page.scope)
    name = "the built-in warehouse" if choice.effective_id is None else choice.effective_name
    return await _settings(
        request, page, toast=f"Sources sync into {name} unless they pick their own."
    )


async def _modal(request: Request, page: PageAdmin, connector_id: uuid.UUID, **extra: Any):
    request.state.page = page
    context = {
        "c": await connectors.read(page.scope, connector_id),
        "choice": await destinations.source_choice(page.scope, connector_id),
        "workspace": await destinations.workspace_choice(page.scope),
        "targets": await destinations.targets(page.scope), "built_in": _built_in(request, page),
        "error": None, **extra,
    }  # fmt: skip
    return render(request, "sync/_destination_modal.html", context)


@router.get("/connectors/{connector_id}/destination")
async def source_form(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    return await _modal(request, page, connector_id)


@router.post("/connectors/{connector_id}/destination")
async def pick_for_source(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    try:
        target_id, warehouse = _source_pick(await request.form())
        choice = await destinations.set_source_destination(
            page.scope, connector_id, target_id, warehouse=warehouse
        )
    except ValueError:
        return await _modal(
            request, page, connector_id, error="Pick one of the listed destinations."
        )
    except HubError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _modal(request, page, connector_id, error=exc.message)
    connector = await connectors.read(page.scope, connector_id)
    name = "the built-in warehouse" if choice.effective_id is None else choice.effective_name
    return render(
        request, "connector/_card_oob.html", {"c": connector, **CARD_RIGHTS},
        headers=toast_header(f"{connector.name} syncs into {name}."),
    )  # fmt: skip
