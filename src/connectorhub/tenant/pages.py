"""Members settings page: the same tenant service as /api/members."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from connectorhub.auth.dependencies import PageOwner, PageViewer
from connectorhub.exceptions import HubError
from connectorhub.kit.emails import EmailAddress
from connectorhub.tenant import service
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render_settings, ui_prefix

router = page_router()
_email = TypeAdapter(EmailAddress)


async def _members(request: Request, page: PageViewer, **extra: Any) -> Response:
    request.state.page = page
    is_owner = page.principal.effective_role.at_least(Role.owner)
    context = {
        "section": "members", "members": await service.list_members(page.scope), "roles": [r.value for r in Role],
        "is_owner": is_owner, "invitations": await service.list_invitations(page.scope) if is_owner else [],
        **extra,
    }  # fmt: skip
    return render_settings(request, "members", context)


@router.get("/settings/members")
async def members_page(request: Request, page: PageViewer) -> Response:
    return await _members(request, page)


@router.post("/settings/members")
async def invite(
    request: Request,
    page: PageOwner,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Role, Form()],
) -> Response:
    try:
        async with page.scope.session.begin_nested():
            invited = await service.invite_member(page.scope, _email.validate_python(email), role)
    except ValidationError:
        return await _members(request, page, error=f"{email!r} is not a valid email address.")
    except HubError as exc:  # e.g. already a member: shown in place, the list unchanged
        return await _members(request, page, error=exc.message)
    link = f"{request.url.scheme}://{request.url.netloc}{ui_prefix(request)}{invited.accept_path}"
    response = await _members(
        request, page, invited=invited, invitation_link=link, toast=f"{invited.email} invited."
    )
    response.headers["Cache-Control"] = "no-store"  # the invitation link, shown once
    return response


@router.post("/settings/members/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request, page: PageOwner, invitation_id: uuid.UUID
) -> Response:
    try:
        async with page.scope.session.begin_nested():
            await service.revoke_invitation(page.scope, invitation_id)
    except HubError as exc:
        return await _members(request, page, error=exc.message)
    return await _members(request, page, toast="Invitation revoked.")


@router.post("/settings/members/{user_id}/role")
async def change_role(
    request: Request, page: PageOwner, user_id: uuid.UUID, role: Annotated[Role, Form()]
) -> Response:
    try:
        async with page.scope.session.begin_nested():
            changed = await service.change_role(page.scope, user_id, role)
    except HubError as exc:
        return await _members(request, page, error=exc.message)
    return await _members(request, page, toast=f"{changed.email} is now {changed.role.value}.")


@router.post("/settings/members/{user_id}/remove")
async def remove(request: Request, page: PageOwner, user_id: uuid.UUID) -> Response:
    try:
        async with page.scope.session.begin_nested():
            await service.remove_member(page.scope, user_id)
    except HubError as exc:
        return await _members(request, page, error=exc.message)
    return await _members(request, page, toast="Member removed.")
