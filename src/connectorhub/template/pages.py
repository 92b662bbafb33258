"""Templates tab: browse official and community templates, read one (its inputs, its versions),
install it. Authoring and the platform panel have their own modules, included here first so
their fixed paths (`/templates/new`) come before `/templates/{key}`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.exceptions import HubError, ValidationFailed
from connectorhub.template import admin_pages, authoring_pages, service, versions
from connectorhub.template.schemas import TemplateInstall
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, render, toast_header, ui_prefix

router = page_router()
router.include_router(authoring_pages.router)
router.include_router(admin_pages.router)
SOURCES = {"all": None, "official": True, "community": False, "mine": None}


@router.get("/templates")
async def browse(
    request: Request, page: PageViewer, source: str = "all", search: str = "", category: str = "",
    featured: str = "",
) -> Response:  # fmt: skip
    request.state.page = page
    found = await service.search(
        page.scope, page.principal, search=search[:200] or None, category=category[:64] or None,
        official=SOURCES.get(source), featured=True if featured else None,
        mine=source == "mine", page_size=200,
    )  # fmt: skip
    context = {
        "section": "templates", "templates": found.items, "source": source if source in SOURCES
        else "all", "search": search, "category": category, "featured": bool(featured),
        "categories": await service.categories(page.scope, page.principal),
    }  # fmt: skip
    if hx_target(request) == "template-cards":
        return render(request, "template/_cards.html", context)
    return render(request, "template/index.html", context)


def template_inputs(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs a run takes, with the help its input schema gives (title, description)."""
    schema = definition.get("input_schema") or {}
    required = set(schema.get("required") or [])
    return [
        {"name": name, "type": field.get("type", "any"), "title": field.get("title") or name,
         "description": field.get("description", ""), "required": name in required,
         "default": field.get("default"), "secret": bool(field.get("writeOnly") or field.get("secret"))}
        for name, field in (schema.get("properties") or {}).items() if isinstance(field, dict)
    ]  # fmt: skip


async def _detail(request: Request, page, key: str, **extra) -> Response:
    template = await service.read(page.scope, page.principal, key)
    history = await versions.list_versions(page.scope, page.principal, key)
    installed = await versions.installed_here(page.scope, page.principal, key)
    context = {
        "section": "templates", "t": template, "versions": history, "installed": installed,
        "rights": service.rights_on(template, page.principal),
        "inputs": template_inputs(template.definition),
        "chosen_version": extra.pop("chosen_version", template.version),
        "can_install": page.principal.effective_role.at_least(Role.admin),
        "name": template.name, "base_url": template.default_config.get("base_url", ""),
        "errors": {}, **extra,
    }  # fmt: skip
    return render(request, "template/detail.html", context)


@router.get("/templates/{key}")
async def detail(request: Request, page: PageViewer, key: str) -> Response:
    request.state.page = page
    return await _detail(request, page, key)


@router.post("/templates/{key}/install")
async def install(request: Request, page: PageAdmin, key: str) -> Response:
    request.state.page = page
    form = await request.form()
    name, base_url = str(form.get("name", "")).strip(), str(form.get("base_url", "")).strip()
    chosen = str(form.get("version", ""))
    version = int(chosen) if chosen.isdigit() else None
    try:
        body = TemplateInstall(
            name=name, version=version, config={"base_url": base_url} if base_url else {}
        )
        async with page.scope.session.begin_nested():
            installed = await service.install(page.scope, page.box, page.principal, key, body)
    except ValidationFailed as exc:
        return await _detail(request, page, key, name=name, base_url=base_url, errors=exc.errors,
                             chosen_version=version)  # fmt: skip
    except (HubError, ValueError) as exc:
        message = exc.message if isinstance(exc, HubError) else "Give the connector a name."
        return await _detail(request, page, key, name=name, base_url=base_url, failure=message,
                             chosen_version=version)  # fmt: skip
    missing = installed.missing_credentials
    message = (
        f"{installed.connector.name} installed from version "
        f"{installed.connector.template_version} (inactive)."
    ) + (
        f" Add the credential{'s' if len(missing) > 1 else ''} {', '.join(missing)} under "
        "Credentials, then activate it."
        if missing
        else " Activate it to run it."
    )
    headers = toast_header(message)
    headers["HX-Location"] = (
        f'{{"path": "{ui_prefix(request)}/connectors/installed", "target": "#main"}}'
    )
    return Response(status_code=200, headers=headers)
