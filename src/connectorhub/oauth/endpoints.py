"""OAuth for API users: start a connection (`authorize_url` to send a browser to; the callback
is a page), and the providers an operator can configure."""

from __future__ import annotations

import uuid

from fastapi import Request

from connectorhub.auth.dependencies import AdminContext
from connectorhub.catalog.service import oauth_entries
from connectorhub.exceptions import Forbidden
from connectorhub.kit.routing import hub_router
from connectorhub.oauth import service
from connectorhub.oauth.providers import callback_for
from connectorhub.oauth.schemas import OAuthStart, ProviderRead
from connectorhub.oauth.tokens import Holder

router = hub_router(tags=["oauth"])
ERRORS = {
    404: {"description": "No such connector or credential in this workspace"},
    400: {"description": "It cannot be connected with OAuth"},
    409: {"description": "No OAuth app is configured for its provider"},
}


async def _start(request: Request, context: AdminContext, holder: Holder) -> OAuthStart:
    settings = request.app.state.hub.settings
    started = await service.start(
        context.scope, context.box, settings, holder, user_id=context.principal.user_id,
        web_session_id=None, callback=callback_for(request, settings),
    )  # fmt: skip
    return OAuthStart(authorize_url=started.authorize_url, callback_url=started.callback_url,
                      expires_at=started.expires_at)  # fmt: skip


@router.post("/connectors/{connector_id}/oauth/start", response_model=OAuthStart, responses=ERRORS)
async def start_connector(
    request: Request, context: AdminContext, connector_id: uuid.UUID
) -> OAuthStart:
    """Where to send the user's browser to connect the account. The state is single use,
    bound to this user (who must be signed in to the web UI when the provider sends the browser
    back), and expires after 10 minutes."""
    return await _start(request, context, Holder.connector(connector_id))


@router.post(
    "/credentials/{credential_id}/oauth/start", response_model=OAuthStart, responses=ERRORS
)
async def start_credential(
    request: Request, context: AdminContext, credential_id: uuid.UUID
) -> OAuthStart:
    """The same for an `oauth2` workspace credential that names a provider."""
    return await _start(request, context, Holder.credential(credential_id))


@router.get("/admin/oauth/providers", response_model=list[ProviderRead])
async def providers(request: Request, context: AdminContext) -> list[ProviderRead]:
    """Platform admins: each OAuth provider, its callback URL and whether its app is configured."""
    if not context.principal.is_platform_admin:
        raise Forbidden("only platform admins see the OAuth apps")
    settings = request.app.state.hub.settings
    return service.provider_listing(await oauth_entries(context.scope.session), settings,
                                    callback_for(request, settings))  # fmt: skip
