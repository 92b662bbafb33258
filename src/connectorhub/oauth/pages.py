"""OAuth pages: a connector's or credential's Connect page (what is connected, and the
button), the start (a redirect to the provider), the callback, and the operators' OAuth apps
page. Rules live in oauth/service.py."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.catalog.service import oauth_entries
from connectorhub.exceptions import Forbidden, NotFound
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.oauth import service
from connectorhub.oauth.providers import callback_for, provider_of
from connectorhub.oauth.tokens import Holder, TokenKeeper, load
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, ui_prefix

router = page_router()
Kind = Annotated[str, Path(pattern="^(connector|credential)$")]


@router.get("/oauth/connect/{kind}/{target_id}")
async def connect_page(
    request: Request, page: PageAdmin, kind: Kind, target_id: uuid.UUID
) -> Response:
    request.state.page = page
    settings = request.app.state.hub.settings
    held = await load(page.scope, page.box, Holder(kind, target_id))
    if held is None:
        raise NotFound(f"{kind} not found")
    provider = provider_of(held.entry, settings) if held.entry is not None else None
    context = {"held": held, "kind": kind, "provider": provider, "facts": held.facts,
               "section": "connectors" if kind == "connector" else "credentials"}  # fmt: skip
    return render(request, "oauth/connect.html", context)


@router.post("/oauth/connect/{kind}/{target_id}")
async def connect(request: Request, page: PageAdmin, kind: Kind, target_id: uuid.UUID) -> Response:
    """Off to the provider (a full navigation: HTMX requests are told to leave the page)."""
    request.state.page = page
    settings = request.app.state.hub.settings
    started = await service.start(
        page.scope, page.box, settings, Holder(kind, target_id), user_id=page.principal.user_id,
        web_session_id=page.web_session_id, callback=callback_for(request, settings),
    )  # fmt: skip
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": started.authorize_url})
    return RedirectResponse(started.authorize_url, status_code=303)


@router.get("/oauth/callback")
async def callback(request: Request, page: PageViewer) -> Response:
    """Where the provider sends the browser back. The work runs after this request's own
    transaction (the code exchange must not hold one open)."""
    request.state.page = page
    keeper = TokenKeeper.of(request.app.state.hub.context)
    params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    user_id, web_session_id = page.principal.user_id, page.web_session_id

    async def finish() -> Response:
        try:
            connected = await service.finish(keeper, params=params, user_id=user_id,
                                             web_session_id=web_session_id)  # fmt: skip
        except service.ConnectRefused as refused:
            return render(request, "oauth/refused.html", {"refused": refused}, status_code=400)
        back = (f"/connectors/installed?search={quote(connected.name)}&connected={connected.holder.id}"
                if connected.holder.kind == "connector"
                else f"/settings/credentials?connected={connected.holder.id}")  # fmt: skip
        return RedirectResponse(ui_prefix(request) + back, status_code=303)

    return AfterCommitResponse(finish)


@router.get("/admin/oauth")
async def oauth_apps(request: Request, page: PageViewer) -> Response:
    """Operators: each provider's callback URL to register, and whether its app is configured."""
    request.state.page = page
    if not page.principal.is_platform_admin:
        raise Forbidden("only platform admins see the OAuth apps")
    settings = request.app.state.hub.settings
    callback = callback_for(request, settings)
    listing = service.provider_listing(await oauth_entries(page.scope.session), settings, callback)
    context = {"providers": listing, "callback": callback, "settings": settings, "section": "oauth"}
    return render(request, "oauth/apps.html", context)
