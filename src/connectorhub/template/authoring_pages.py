"""Template authoring in the UI: save an HTTP connector as a draft, edit the draft, publish it
with a changelog, unpublish it, compare two versions, roll back to one, feature it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.connector import service as connectors
from connectorhub.exceptions import NotFound, ValidationFailed
from connectorhub.template import service, versions
from connectorhub.template.schemas import TemplateFromConnector, TemplatePatch
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, toast_header, ui_prefix

router = page_router()


def pydantic_errors(error: ValidationError, prefix: str = "") -> dict[str, list[str]]:
    """A form's Pydantic refusal as the API's error map (dotted paths, list indexes in [])."""
    errors: dict[str, list[str]] = {}
    for item in error.errors():
        path = prefix
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        errors.setdefault(path or "body", []).append(item["msg"].removeprefix("Value error, "))
    return errors


def go_to(request: Request, path: str, message: str, level: str = "success") -> Response:
    """An HTMX answer that opens `path` in #main and says `message` in a toast."""
    headers = toast_header(message, level)
    headers["HX-Location"] = json.dumps({"path": ui_prefix(request) + path, "target": "#main"})
    return Response(status_code=200, headers=headers)


def _form_text(form: Any, name: str, limit: int = 2000) -> str:
    return str(form.get(name, "")).strip()[:limit]


@router.get("/templates/new")
async def new_from_connector(request: Request, page: PageAdmin, connector: str = "") -> Response:
    request.state.page = page
    try:
        connector_id = uuid.UUID(connector)
    except ValueError:
        raise NotFound("HTTP connector not found") from None
    source = await connectors.read(page.scope, connector_id)
    if source.kind != "http":
        raise NotFound("HTTP connector not found")
    form = {"name": source.name, "key": "", "description": "", "category": "Developer",
            "visibility": "public"}  # fmt: skip
    return render(request, "template/new.html", {"section": "templates", "source": source,
                                                 "form": form, "errors": {}})  # fmt: skip


@router.post("/templates/new")
async def create_from_connector(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    form = await request.form()
    values = {name: _form_text(form, name) for name in
              ("connector_id", "key", "name", "description", "category", "visibility")}  # fmt: skip
    try:
        source = await connectors.read(page.scope, uuid.UUID(values["connector_id"]))
    except ValueError:
        raise NotFound("HTTP connector not found") from None
    try:
        body = TemplateFromConnector.model_validate(values)
        async with page.scope.session.begin_nested():
            created = await versions.create_from_connector(page.scope, page.principal, body)
    except ValidationError as exc:
        errors = pydantic_errors(exc)
    except ValidationFailed as exc:
        errors = exc.errors
    else:
        return go_to(request, f"/templates/{created.key}", f"Draft {created.name} saved.")
    context = {"section": "templates", "source": source, "form": values, "errors": errors}
    return render(request, "template/new.html", context)


def _edit_form(template) -> dict[str, str]:
    return {
        "name": template.name, "description": template.description,
        "category": template.category, "visibility": template.visibility.value,
        "definition": json.dumps(template.definition, indent=2),
        "default_config": json.dumps(template.default_config, indent=2),
    }  # fmt: skip


@router.get("/templates/{key}/edit")
async def edit(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    template = await service.read(page.scope, page.principal, key)
    if not service.rights_on(template, page.principal).edit:
        raise NotFound("template not found")  # a form nobody may send is not offered
    context = {"section": "templates", "t": template, "form": _edit_form(template), "errors": {}}
    return render(request, "template/edit.html", context)


def _parse_json(text: str, path: str, errors: dict[str, list[str]]) -> Any:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        errors[path] = [f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."]
        return None
    if not isinstance(value, dict):
        errors[path] = ["Must be a JSON object."]
        return None
    return value


@router.post("/templates/{key}/edit")
async def save_edit(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    template = await service.read(page.scope, page.principal, key)
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in _edit_form(template)}
    errors: dict[str, list[str]] = {}
    definition = _parse_json(values["definition"], "definition", errors)
    config = _parse_json(values["default_config"], "default_config", errors)
    if not errors:
        patch = {"name": values["name"].strip(), "description": values["description"].strip(),
                 "category": values["category"].strip(), "visibility": values["visibility"],
                 "definition": definition, "default_config": config}  # fmt: skip
        try:
            body = TemplatePatch.model_validate(patch)
            async with page.scope.session.begin_nested():
                await service.update(page.scope, page.principal, key, body)
        except ValidationError as exc:
            errors = pydantic_errors(exc)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return go_to(request, f"/templates/{key}", "Draft saved. Publish it to share it.")
    context = {"section": "templates", "t": template, "form": values, "errors": errors}
    return render(request, "template/edit.html", context)


@router.post("/templates/{key}/publish")
async def publish(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    form = await request.form()
    published = await service.publish(
        page.scope, page.principal, key, _form_text(form, "changelog")
    )
    return go_to(request, f"/templates/{key}", f"Version {published.version} published.")


@router.post("/templates/{key}/unpublish")
async def unpublish(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    taken = await service.unpublish(page.scope, page.principal, key)
    back = str((await request.form()).get("back", ""))
    return go_to(request, back if back == "/admin/templates" else f"/templates/{key}",
                 f"{taken.name} unpublished: it is off the marketplace.")  # fmt: skip


@router.post("/templates/{key}/feature")
async def feature(request: Request, page: PageViewer, key: str) -> Response:
    request.state.page = page
    featured = str((await request.form()).get("featured", "")) == "true"
    changed = await service.feature(page.scope, page.principal, key, featured)
    message = f"{changed.name} is {'featured' if featured else 'no longer featured'}."
    return go_to(request, "/admin/templates", message)


@router.post("/templates/{key}/rollback")
async def rollback(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    form = await request.form()
    try:
        number = int(str(form.get("version", "")))
    except ValueError:
        raise NotFound("version not found") from None
    rolled = await versions.rollback(
        page.scope, page.principal, key, number, _form_text(form, "changelog")
    )
    return go_to(
        request, f"/templates/{key}",
        f"Version {number} published again as version {rolled.version}.",
    )  # fmt: skip


@router.get("/templates/{key}/diff")
async def diff(request: Request, page: PageViewer, key: str) -> Response:
    request.state.page = page
    old, new = request.query_params.get("from", ""), request.query_params.get("to", "")
    if not (old.isdigit() and new.isdigit()):
        raise NotFound("version not found")
    compared = await versions.diff_versions(page.scope, page.principal, key, int(old), int(new))
    return render(request, "template/_diff.html", {"d": compared})


@router.post("/templates/{key}/upgrade")
async def move_to_version(request: Request, page: PageAdmin, key: str) -> Response:
    """Move one of this workspace's connectors to the chosen published version."""
    request.state.page = page
    form = await request.form()
    chosen = str(form.get("version", ""))
    try:
        connector_id = uuid.UUID(str(form.get("connector_id", "")))
    except ValueError:
        raise NotFound("connector not found") from None
    moved = await service.upgrade(
        page.scope, page.box, page.principal, connector_id,
        int(chosen) if chosen.isdigit() else None,
    )  # fmt: skip
    return go_to(
        request, f"/templates/{key}", f"{moved.name} now runs version {moved.template_version}."
    )
