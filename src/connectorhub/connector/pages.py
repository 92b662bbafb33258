"""Connector pages: Catalog and Installed tabs, add flow, edit modal, status, delete.

Every rule lives in connector/service.py and catalog/service.py; these routes only turn forms into
the same request bodies the API takes, and render the outcome.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.custom_taps import effective_entry
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import card_summary, configure, run_charts, service
from connectorhub.connector.form_input import pydantic_errors as _pydantic_errors
from connectorhub.connector.form_input import tags_of as _tags
from connectorhub.connector.models import ConnectorStatus
from connectorhub.connector.schemas import ConnectorPatch, ConnectorRead
from connectorhub.exceptions import ValidationFailed
from connectorhub.kit.secret_schema import secret_paths
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.schema_form import (
    editable_secrets,
    form_editable,
    form_secrets,
    form_to_instance,
    kept_where_missing,
)
from connectorhub.web.templating import hx_target, render, toast_header, ui_prefix

router = page_router()
PAGE_SIZE = 48


def _can_edit(page: PageViewer) -> bool:
    return page.principal.effective_role.at_least(Role.admin)


def _tab(
    request: Request, page: PageViewer, template: str, cards: str, context: dict[str, Any]
) -> Response:
    request.state.page = page
    context = {
        **context, "section": "connectors", "can_edit": _can_edit(page),
        "can_run": page.principal.effective_role.at_least(Role.member),
    }  # fmt: skip
    if hx_target(request) == "cards":
        return render(request, cards, context)
    return render(request, template, context)


@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse(ui_prefix(request) + "/connectors/catalog", status_code=303)


@router.get("/connectors")
async def connectors(request: Request) -> Response:
    return RedirectResponse(ui_prefix(request) + "/connectors/catalog", status_code=303)


@router.get("/connectors/catalog")
async def catalog_tab(
    request: Request,
    page: PageViewer,
    category: Annotated[str, Query(max_length=64)] = "",
    search: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    session = page.scope.session
    entries = await catalog_service.search_entries(session, category or None, None, search or None)
    categories = sorted(
        {e.category for e in await catalog_service.search_entries(session, None, None, None)}
    )
    context = {
        "tab": "catalog",
        "entries": entries,
        "categories": categories,
        "category": category,
        "search": search,
    }
    return _tab(request, page, "connector/catalog.html", "connector/_catalog_cards.html", context)


def _connected_toast(shown: Any, connected: uuid.UUID | None) -> dict[str, str] | None:
    """After an OAuth callback: say who the connector is now connected as (from the stored
    facts, never from the URL)."""
    connector = next((c for c in shown if c.id == connected), None)
    if connector is None or not connector.oauth or connector.oauth.get("state") != "ok":
        return None
    account = (connector.account or {}).get("handle") or (connector.account or {}).get("name")
    who = f" as {account}" if account else ""
    then = "" if connector.status == ConnectorStatus.active else " Activate it to use it."
    return {"level": "success",
            "message": f"{connector.name} is connected to {connector.oauth_provider}{who}.{then}"}  # fmt: skip


@router.get("/connectors/installed")
async def installed_tab(
    request: Request,
    page: PageViewer,
    # "" is the filter form's "Any status".
    status: Annotated[ConnectorStatus | Literal[""] | None, Query()] = None,
    search: Annotated[str, Query(max_length=200)] = "",
    p: Annotated[int, Query(ge=1, le=100_000)] = 1,
    connected: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    found, summaries = await card_summary.installed_cards(
        page.scope,
        status=status.value if status else None,
        search=search or None,
        page=p,
        page_size=PAGE_SIZE,
    )
    charts = await run_charts.card_charts(page.scope, found.items)
    context = {
        "tab": "installed", "found": found, "summaries": summaries, "charts": charts, "status": status.value if status else "", "search": search,
        "statuses": [s.value for s in ConnectorStatus], "has_next": p * PAGE_SIZE < found.total,
        "initial_toast": _connected_toast(found.items, connected),
    }  # fmt: skip
    return _tab(
        request, page, "connector/installed.html", "connector/_installed_cards.html", context
    )


def _form_context(
    entry: CatalogEntry,
    *,
    action: str,
    name: str = "",
    tags: list[str] | None = None,
    config: dict[str, Any] | None = None,
    connector: ConnectorRead | None = None,
    errors: dict[str, list[str]] | None = None,
    auth: dict[str, str] | None = None,
) -> dict[str, Any]:
    # Typed non-secret credentials (a username) are kept; secrets are never sent back in HTML.
    secret = {f["name"] for f in entry.auth_fields if f["secret"]}
    kept = {k: v for k, v in (auth or {}).items() if k not in secret}
    return {
        "entry": entry, "action": action, "name": name, "tags": ", ".join(tags or []), "config": config or {},
        "connector": connector, "errors": errors or {}, "secrets_set": set(connector.auth) & secret if connector else set(),
        "auth_kept": kept, "secrets_dropped": bool(errors) and any(k in secret for k in auth or {}),
        "config_secret": form_secrets(entry.default_config_schema, "config"),
    }  # fmt: skip


@router.get("/connectors/{connector_id}/edit")
async def edit_form(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    view = await configure.for_configure(page.scope, page.box, connector_id)
    connector = view.connector
    context = _form_context(
        view.entry, action=f"/connectors/{connector.id}/edit", name=connector.name,
        tags=connector.tags, config=connector.config, connector=connector,
        auth=view.auth_in_clear,
    )  # fmt: skip
    return render(request, "connector/_form.html", context)


@router.get("/connectors/{connector_id}/secret/{field}")
async def secret_input(
    request: Request, page: PageAdmin, connector_id: uuid.UUID, field: str
) -> Response:
    """The input that replaces a stored secret ("Update secret"): empty, never prefilled."""
    request.state.page = page
    connector = await service.read(page.scope, connector_id)
    entry = effective_entry(
        await catalog_service.entry_by_id_or_key(page.scope.session, connector.catalog_key),
        connector.definition,
    )
    auth_field = next((f for f in entry.auth_fields if f["name"] == field), None)
    if auth_field is None:
        raise ValidationFailed({f"auth.{field}": ["Unknown auth field."]})
    return render(request, "connector/_secret_input.html", {"field": auth_field})


@router.post("/connectors/{connector_id}/edit")
async def update(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    current = await service.read(page.scope, connector_id)
    entry = effective_entry(
        await catalog_service.entry_by_id_or_key(page.scope.session, current.catalog_key),
        current.definition,
    )
    form = await request.form()
    fields = {key: form.getlist(key) for key in form}  # type: ignore[misc]
    name, tags = str(form.get("name", "")), _tags(str(form.get("tags", "")))
    config = form_to_instance(entry.default_config_schema, fields, "config")
    # Settings the form cannot show are kept as they are, never silently dropped.
    editable = form_editable(entry.default_config_schema)
    config = {**{k: v for k, v in current.config.items() if k not in editable}, **config}
    # Secret settings are shown empty, never filled: left empty, they keep their value.
    stored_secrets = secret_paths(entry.default_config_schema, current.config)
    config = kept_where_missing(config, current.config, stored_secrets)
    auth = editable_secrets(fields, [f["name"] for f in entry.auth_fields])
    try:
        body = ConnectorPatch(name=name, config=config, auth=auth or None, tags=tags)
        async with page.scope.session.begin_nested():  # a refused edit leaves nothing behind
            updated = await service.edit(page.scope, page.box, connector_id, body)
    except (ValidationFailed, ValidationError) as exc:
        errors = exc.errors if isinstance(exc, ValidationFailed) else _pydantic_errors(exc)
        context = _form_context(
            entry, action=f"/connectors/{connector_id}/edit", name=name, tags=tags, config=config,
            connector=current, errors=errors, auth=auth,
        )  # fmt: skip
        return render(request, "connector/_form.html", context)
    return render(
        request, "connector/_card_oob.html", {"c": updated, "can_edit": True, "can_run": True},
        headers=toast_header(f"{updated.name} saved."),
    )  # fmt: skip


@router.post("/connectors/{connector_id}/status")
async def set_status(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    form = await request.form()
    try:
        wanted = ConnectorStatus(str(form.get("status", "")))
    except ValueError:
        raise ValidationFailed({"status": ["Must be one of: inactive, active, error."]}) from None
    updated = await service.edit(page.scope, page.box, connector_id, ConnectorPatch(status=wanted))
    if updated.warnings:
        headers = toast_header(" ".join(updated.warnings), "warning")
    else:
        headers = toast_header(f"{updated.name} is now {updated.status.value}.")
    return render(
        request,
        "connector/_installed_card.html",
        {"c": updated, "can_edit": True, "can_run": True},
        headers=headers,
    )


@router.get("/connectors/{connector_id}/chart")
async def card_chart(request: Request, page: PageViewer, connector_id: uuid.UUID) -> Response:
    """A card's chart on its own: what a card re-drawn after an action fetches."""
    connector = await service.read(page.scope, connector_id)
    charts = await run_charts.card_charts(page.scope, [connector])
    return HTMLResponse(str(charts.get(connector.id, "")))


@router.post("/connectors/{connector_id}/delete")
async def delete(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    connector = await service.read(page.scope, connector_id)
    await service.delete(page.scope, connector_id)
    return Response(status_code=200, headers=toast_header(f"{connector.name} deleted."))
