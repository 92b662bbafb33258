"""Sign in, sign out, switch workspace."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from connectorhub.auth import service as auth_service
from connectorhub.auth import sessions
from connectorhub.auth.dependencies import DbSession, PageMember, PageViewer
from connectorhub.exceptions import CsrfRejected, TooManyRequests, ValidationFailed
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, render, toast_header, ui_prefix

router = page_router()
LOGIN_CSRF_COOKIE = "chub_login_csrf"


def _throttle(request: Request) -> sessions.LoginThrottle:
    return request.app.state.login_throttle


def _secure(request: Request) -> bool:
    settings = request.app.state.hub.settings
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return settings.env == "production" or request.url.scheme == "https"


def _safe_next(request: Request, target: str | None) -> str:
    """Only local paths: an open redirect after sign-in is a phishing tool."""
    default = ui_prefix(request) + "/connectors/catalog"
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or urlsplit(target).netloc
    ):
        return default
    return target


def _login_page(
    request: Request,
    *,
    email: str = "",
    error: str | None = None,
    next_url: str = "",
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    response = render(
        request,
        "auth/login.html",
        {"email": email, "error": error, "next": next_url},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=3600,
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, next_url=next)


@router.post("/login")
async def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        raise CsrfRejected()
    keys = (f"email:{email.lower()}", f"ip:{request.client.host if request.client else '?'}")
    try:
        _throttle(request).check(*keys)
    except TooManyRequests as exc:
        return _login_page(request, email=email, error=exc.message, next_url=next, status_code=429)
    user = await sessions.check_password(session, email, password)
    if user is None:
        _throttle(request).failed(*keys)
        return _login_page(request, email=email, error="Wrong email or password.", next_url=next)
    _throttle(request).succeeded(*keys)
    _, token = await sessions.open_session(session, user)
    response = RedirectResponse(_safe_next(request, next), status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME, token, httponly=True, samesite="lax", secure=_secure(request),
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()), path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, session: DbSession, _page: PageViewer) -> Response:
    await sessions.close_session(session, request.cookies.get(sessions.COOKIE_NAME, ""))
    response = RedirectResponse(ui_prefix(request) + "/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.post("/workspace")
async def switch_workspace(
    request: Request,
    session: DbSession,
    _page: PageViewer,
    workspace: Annotated[str, Form(max_length=64)],
) -> Response:
    web_session = await sessions.resolve_session(
        session, request.cookies.get(sessions.COOKIE_NAME, "")
    )
    assert web_session is not None  # PageViewer already required a live session
    await sessions.switch_workspace(session, web_session, workspace)
    return RedirectResponse(ui_prefix(request) + "/connectors/catalog", status_code=303)


# --- API tokens settings page: the same auth service as /api/tokens --------------------------------


async def _tokens(request: Request, page: PageViewer, **extra: object) -> Response:

    request.state.page = page
    context = {
        "section": "tokens", "tokens": await auth_service.list_tokens(page.scope, page.principal),
        "can_create": page.principal.effective_role.at_least(Role.member),
        "is_admin": page.principal.effective_role.at_least(Role.admin), **extra,
    }  # fmt: skip
    template = "settings/_tokens.html" if hx_target(request) == "tokens" else "settings/tokens.html"
    return render(
        request,
        template,
        context,
        headers=toast_header(str(extra["toast"])) if extra.get("toast") else None,
    )


@router.get("/settings/tokens")
async def tokens_page(request: Request, page: PageViewer) -> Response:
    return await _tokens(request, page)


@router.post("/settings/tokens")
async def create_token(
    request: Request,
    page: PageMember,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    access: Annotated[str, Form(pattern="^(read|write)$")] = "write",
    expires_in_days: Annotated[str, Form(max_length=5)] = "",
) -> Response:

    days = (
        int(expires_in_days)
        if expires_in_days.isdigit() and 1 <= int(expires_in_days) <= 3650
        else None
    )
    scopes = ["read", "write"] if access == "write" else ["read"]
    row, token = await auth_service.issue_token(
        page.scope, page.principal.user_id, name, scopes, days
    )
    created = {"name": row.name, "token": token}
    response = await _tokens(request, page, created=created, toast=f"Token {row.name} created.")
    response.headers["Cache-Control"] = "no-store"  # the token itself is in this page, once
    return response


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(request: Request, page: PageMember, token_id: uuid.UUID) -> Response:

    await auth_service.revoke_token(page.scope, page.principal, token_id)
    return await _tokens(request, page, toast="Token revoked.")


# --- Account: change your password -------------------------------------------------------------


@router.get("/settings/account")
async def account_page(request: Request, page: PageViewer) -> Response:
    request.state.page = page
    return render(request, "settings/account.html", {"section": "account", "errors": {}})


@router.post("/settings/account")
async def change_password(
    request: Request,
    page: PageViewer,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:

    request.state.page = page
    try:
        async with page.scope.session.begin_nested():
            await auth_service.change_own_password(
                page.scope.session, page.principal.user_id, current_password, new_password
            )
    except ValidationFailed as exc:
        return render(
            request, "settings/account.html", {"section": "account", "errors": exc.errors}
        )
    return render(
        request, "settings/account.html", {"section": "account", "errors": {}, "changed": True},
        headers=toast_header("Password changed."),
    )  # fmt: skip
