"""The platform panel: official templates (create, edit, publish), the moderation queue of
community templates (feature, unpublish), and platform roles (owners grant them).

Only platform roles open it; others get 403, as the OAuth apps page answers them."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth import platform_roles
from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.auth.schemas import PlatformRole
from connectorhub.exceptions import Forbidden, HubError, ValidationFailed
from connectorhub.template import service
from connectorhub.template.authoring_pages import go_to, pydantic_errors
from connectorhub.template.schemas import TemplateCreate
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render

router = page_router()
STARTER_DEFINITION = {
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string", "title": "Query", "description": "What to ask"}},
    },
    "steps": [{"name": "fetch", "url": "/search?q={{input.query}}"}],
}
STARTER_CONFIG = {"base_url": "https://api.example.com"}


def _needs_platform_role(page) -> None:
    if not page.principal.has_platform_role:
        raise Forbidden("only platform roles open the platform panel")


async def _panel(request: Request, page, **extra) -> Response:
    principal = page.principal
    session = page.scope.session
    context = {
        "section": "platform",
        "official": await service.official_templates(page.scope, principal)
        if principal.authors_official
        else [],
        "queue": await service.moderation_queue(page.scope, principal)
        if principal.is_platform_admin
        else [],
        "people": await platform_roles.platform_users(session, principal),
        "roles": [role.value for role in PlatformRole],
        "grant": {"email": "", "role": "developer"}, "grant_error": None, **extra,
    }  # fmt: skip
    return render(request, "template/admin.html", context)


@router.get("/admin/templates")
async def panel(request: Request, page: PageViewer) -> Response:
    request.state.page = page
    _needs_platform_role(page)
    return await _panel(request, page)


@router.post("/admin/platform-roles")
async def grant_role(request: Request, page: PageViewer) -> Response:
    request.state.page = page
    _needs_platform_role(page)
    form = await request.form()
    email, role = str(form.get("email", "")).strip()[:320], str(form.get("role", ""))
    try:
        async with page.scope.session.begin_nested():
            user = await platform_roles.set_platform_role(
                page.scope.session, page.principal, email, PlatformRole(role), page.scope
            )
    except ValueError:
        failure = "Pick a role: developer, admin, owner or none."
    except HubError as exc:
        failure = exc.message
    else:
        what = user.platform_role or "no platform role"
        return go_to(request, "/admin/templates", f"{user.email} now has {what}.")
    return await _panel(request, page, grant={"email": email, "role": role}, grant_error=failure)


def _new_form() -> dict[str, str]:
    return {"key": "", "name": "", "description": "", "category": "Developer",
            "definition": json.dumps(STARTER_DEFINITION, indent=2),
            "default_config": json.dumps(STARTER_CONFIG, indent=2)}  # fmt: skip


@router.get("/admin/templates/new")
async def new_official(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    if not page.principal.authors_official:
        raise Forbidden("only platform roles create official templates")
    context = {"section": "platform", "form": _new_form(), "errors": {}}
    return render(request, "template/new_official.html", context)


@router.post("/admin/templates/new")
async def create_official(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in _new_form()}
    errors: dict[str, list[str]] = {}
    payload: dict[str, object] = {
        name: values[name].strip() for name in ("key", "name", "description", "category")
    }
    for name in ("definition", "default_config"):
        try:
            payload[name] = json.loads(values[name] or "{}")
        except json.JSONDecodeError as exc:
            errors[name] = [f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."]
    if not errors:
        try:
            body = TemplateCreate.model_validate({**payload, "is_official": True})
            async with page.scope.session.begin_nested():
                created = await service.create(page.scope, page.principal, body)
        except ValidationError as exc:
            errors = pydantic_errors(exc)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return go_to(
                request, f"/templates/{created.key}", f"Official draft {created.name} saved."
            )
    context = {"section": "platform", "form": values, "errors": errors}
    return render(request, "template/new_official.html", context)
