"""The guided add flow: Pick → Configure → Credentials → Test → Save, steps of one modal.

Nothing is stored until Save. The steps are panels of one form, so what was typed stays in the
browser when going back and forth, secrets too: the server re-renders only the Configure panel
(never a secret into HTML) and tests the draft with `draft_test` (POST /api/connectors/test's
code). The Generic HTTP entry hands over to the HTTP connector builder at /connectors/build.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin
from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import draft_test, service
from connectorhub.connector.form_input import pydantic_errors, tags_of
from connectorhub.connector.models import ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.schemas import ConnectorCreate, ConnectorPatch, DraftTest
from connectorhub.exceptions import Conflict, HubError, ValidationFailed
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.web.routing import page_router
from connectorhub.web.schema_form import editable_secrets, form_secrets, form_to_instance
from connectorhub.web.templating import is_htmx, render, toast_header, ui_prefix

router = page_router()
BUILDER = "/connectors/build"  # the HTTP connector builder (its own page)


def _step(step: str, extra: dict[str, Any] | None = None) -> dict[str, str]:
    """Tell the page (add_flow.js) which step to show next."""
    return {"HX-Trigger": json.dumps({"addFlowStep": step, **(extra or {})})}


def _read_form(entry: CatalogEntry, form: Any) -> dict[str, Any]:
    fields = {key: form.getlist(key) for key in form}
    return {
        "name": str(form.get("name", "")),
        "tags": tags_of(str(form.get("tags", ""))),
        "config": form_to_instance(entry.default_config_schema, fields, "config"),
        "auth": editable_secrets(fields, [f["name"] for f in entry.auth_fields]),
        "activate": form.get("activate") == "on",
        # Set by a passing Test of what is typed now (add_flow.js clears it on a change).
        "tested": form.get("tested") == "ok",
    }


def _configure(
    request: Request, entry: CatalogEntry, draft: dict[str, Any], errors: dict[str, list[str]],
    headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    """The Configure panel again; once it is right, Save's summary too (out of band)."""
    config_secret = form_secrets(entry.default_config_schema, "config")
    context = {
        "entry": entry, "name": draft["name"].strip(), "tags": ", ".join(draft["tags"]),
        "config": draft["config"], "errors": errors, "config_secret": config_secret,
        "secrets_dropped": bool(config_secret) and bool(errors), "summary": not errors,
    }  # fmt: skip
    return render(request, "connector/add/_configure.html", context, headers=headers)


def _labelled(entry: CatalogEntry, errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(step, field label, message) for an error list outside the fields' own places."""
    titles = {f"auth.{f['name']}": f["title"] for f in entry.auth_fields}
    for name, prop in (entry.default_config_schema.get("properties") or {}).items():
        titles[f"config.{name}"] = prop.get("title") or name
    titles |= {"name": "Name", "tags": "Tags"}
    shown = []
    for path, messages in errors.items():
        top = ".".join(path.split(".")[:2])
        step = "credentials" if path.startswith("auth.") else "configure"
        shown.extend((step, titles.get(top, path), message) for message in messages)
    return shown


@router.get("/connectors/add")
async def pick(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    entries = await catalog_service.search_entries(page.scope.session, None, None, None)
    return render(request, "connector/add/pick.html", {"entries": entries, "builder": BUILDER})


@router.get("/connectors/add/{catalog_key}")
async def start(request: Request, page: PageAdmin, catalog_key: str) -> Response:
    request.state.page = page
    entry = await catalog_service.entry_by_id_or_key(page.scope.session, catalog_key)
    if entry.kind == "http":  # its definition is built step by step in the builder
        if is_htmx(request):
            return Response(headers={"HX-Redirect": ui_prefix(request) + BUILDER})
        return RedirectResponse(ui_prefix(request) + BUILDER, status_code=303)
    context = {
        "entry": entry, "name": "", "tags": "", "config": {}, "errors": {},
        "config_secret": form_secrets(entry.default_config_schema, "config"),
        "secrets_dropped": False,
    }  # fmt: skip
    return render(request, "connector/add/flow.html", context)


@router.post("/connectors/add/{catalog_key}/configure")
async def check_configure(request: Request, page: PageAdmin, catalog_key: str) -> Response:
    """Configure's Next: the name and settings checked as Save will check them, then on to
    Credentials (or Test, for an entry that takes none)."""
    request.state.page = page
    entry = await catalog_service.entry_by_id_or_key(page.scope.session, catalog_key)
    draft = _read_form(entry, await request.form())
    errors = catalog_service.config_errors(entry, draft["config"])
    try:
        ConnectorCreate(catalog_key=entry.key, name=draft["name"], tags=draft["tags"])
    except ValidationError as exc:
        errors |= pydantic_errors(exc)
    if not errors.get("name") and await ConnectorRepository(page.scope).by_name(
        draft["name"].strip()
    ):
        errors["name"] = ["A connector with this name exists in this workspace."]
    if errors:
        return _configure(request, entry, draft, errors)
    return _configure(
        request, entry, draft, {}, headers=_step("credentials" if entry.auth_fields else "test")
    )


@router.post("/connectors/add/{catalog_key}/test")
async def test(request: Request, page: PageAdmin, catalog_key: str) -> Response:
    """Test: the draft's discovery or account check once this request's transaction is done;
    the outcome (and whether Save may activate) shown in the Test step."""
    request.state.page = page
    entry = await catalog_service.entry_by_id_or_key(page.scope.session, catalog_key)
    draft = _read_form(entry, await request.form())
    body = DraftTest(catalog_key=entry.key, config=draft["config"], auth=draft["auth"])
    try:
        prepared = await draft_test.prepare(page.scope, body)
    except ValidationFailed as refused:
        context = {"entry": entry, "refused": _labelled(entry, refused.errors)}
        return render(request, "connector/add/_test_result.html", context)
    except HubError as refused:  # nothing to test this way (OAuth not connected yet, say)
        context = {"entry": entry, "note": refused.message}
        return render(request, "connector/add/_test_result.html", context)
    hub, tenant_id = request.app.state.hub, page.scope.tenant_id

    async def test_and_render() -> Response:
        result = await draft_test.run(hub.context, tenant_id, prepared)
        # The outcome is shown in the step itself (no toast: it would only repeat it).
        return render(
            request, "connector/add/_test_result.html", {"entry": entry, "result": result}
        )

    return AfterCommitResponse(test_and_render)


async def _save(page: PageAdmin, entry: CatalogEntry, draft: dict[str, Any]) -> Any:
    body = ConnectorCreate(
        catalog_key=entry.key, name=draft["name"], config=draft["config"], auth=draft["auth"],
        tags=draft["tags"],
    )  # fmt: skip
    async with page.scope.session.begin_nested():  # a refused save leaves nothing behind
        created = await service.install(page.scope, page.box, body)
        if draft["activate"]:
            patch = ConnectorPatch(status=ConnectorStatus.active)
            created = await service.edit(page.scope, page.box, created.id, patch)
    return created


@router.post("/connectors/add/{catalog_key}")
async def save(request: Request, page: PageAdmin, catalog_key: str) -> Response:
    """Save: the connector stored (active when asked and allowed); refusals shown at their
    step, the Configure panel re-rendered with its errors."""
    request.state.page = page
    entry = await catalog_service.entry_by_id_or_key(page.scope.session, catalog_key)
    draft = _read_form(entry, await request.form())
    try:
        created = await _save(page, entry, draft)
    except (ValidationFailed, ValidationError, Conflict) as exc:
        if isinstance(exc, ValidationFailed):
            errors = exc.errors
        elif isinstance(exc, ValidationError):
            errors = pydantic_errors(exc)
        else:
            errors = {"name": ["A connector with this name exists in this workspace."]}
        on_configure = any(not path.startswith("auth.") for path in errors)
        context = {
            "entry": entry, "errors": errors, "listed": _labelled(entry, errors),
            "name": draft["name"], "tags": ", ".join(draft["tags"]), "config": draft["config"],
            "config_secret": form_secrets(entry.default_config_schema, "config"),
            "secrets_dropped": False, "on_configure": on_configure,
        }  # fmt: skip
        headers = _step("configure") if on_configure else None
        return render(request, "connector/add/_save_refused.html", context, headers=headers)
    active = created.status == ConnectorStatus.active
    message = (
        f"{created.name} added and active."
        if active
        else f"{created.name} added. It is inactive until you activate it."
    )
    headers = toast_header(message, close_modal=True)
    if entry.oauth and not created.auth:  # Connect needs a saved connector: on to it now
        headers["HX-Redirect"] = f"{ui_prefix(request)}/oauth/connect/connector/{created.id}"
        return Response(status_code=200, headers=headers)
    headers["HX-Location"] = json.dumps(
        {"path": f"{ui_prefix(request)}/connectors/installed", "target": "#main"}
    )
    if not draft["tested"]:
        return Response(status_code=200, headers=headers)
    hub, tenant_id = request.app.state.hub, page.scope.tenant_id

    async def test_then_answer() -> Response:  # once the connector is committed
        if not await draft_test.test_saved(hub.context, tenant_id, created.id, entry.kind):
            failed = f"{created.name} added, but its test as saved failed: see its card."
            headers.update(toast_header(failed, "warning", close_modal=True))
        return Response(status_code=200, headers=headers)

    return AfterCommitResponse(test_then_answer)
