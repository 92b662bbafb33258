"""Settings → Credentials: the same workspace credential service as /api/credentials."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.catalog.service import oauth_entries
from connectorhub.credential import service
from connectorhub.credential.models import KIND_FIELDS, CredentialKind
from connectorhub.credential.schemas import CredentialCreate
from connectorhub.exceptions import HubError, ValidationFailed
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render_settings, toast_header

router = page_router()
# The name's rule as the API states it: the form's pattern and the hint beside the field.
NAME_RULE = CredentialCreate.model_json_schema()["properties"]["name"]


async def _page(request: Request, page: PageViewer, **extra: Any) -> Response:
    request.state.page = page
    context = {
        "section": "credentials", "credentials": (await service.listing(page.scope)).items,
        "is_admin": page.principal.effective_role.at_least(Role.admin),
        "kinds": {k.value: [*r, *o] for k, (r, o) in KIND_FIELDS.items()},
        "providers": await oauth_entries(page.scope.session),
        "name_rule": NAME_RULE, "form": {}, "errors": {}, **extra,
    }  # fmt: skip
    return render_settings(request, "credentials", context)


@router.get("/settings/credentials")
async def credentials_page(request: Request, page: PageViewer) -> Response:
    return await _page(request, page)


@router.post("/settings/credentials")
async def create(request: Request, page: PageAdmin) -> Response:
    form = await request.form()
    kind = str(form.get("kind", ""))
    known = {k.value: k for k in CredentialKind}
    required, optional = KIND_FIELDS[known[kind]] if kind in known else ((), ())
    values = {f: str(form.get(f, "")) for f in (*required, *optional) if form.get(f)}
    hosts = [h for h in str(form.get("allowed_hosts", "")).replace(",", "\n").split() if h]
    shown = {"name": str(form.get("name", "")), "kind": kind, "allowed_hosts": "\n".join(hosts),
             "description": str(form.get("description", "")),
             "provider": str(form.get("provider", "")) if kind == "oauth2" else ""}  # fmt: skip
    try:
        body = CredentialCreate(
            name=shown["name"],
            kind=kind,
            allowed_hosts=hosts,
            values=values,  # type: ignore[arg-type]
            description=shown["description"],
            provider=shown["provider"] or None,
        )
        async with page.scope.session.begin_nested():
            created = await service.create(page.scope, page.box, body)
    except ValidationFailed as exc:
        return await _page(request, page, form=shown, errors=exc.errors)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            errors.setdefault(str(error["loc"][0]), []).append(error["msg"])
        return await _page(request, page, form=shown, errors=errors)
    except HubError as exc:
        return await _page(request, page, form=shown, errors={"name": [exc.message]})
    return await _page(request, page, toast=f"Credential {created.name} saved.")


@router.post("/settings/credentials/{credential_id}/delete")
async def delete(request: Request, page: PageAdmin, credential_id: uuid.UUID) -> Response:
    try:
        async with page.scope.session.begin_nested():
            await service.delete(page.scope, credential_id)
    except HubError as exc:
        request.state.page = page
        response = await _page(request, page)
        response.headers.update(toast_header(exc.message, "danger"))
        return response
    return await _page(request, page, toast="Credential deleted.")
