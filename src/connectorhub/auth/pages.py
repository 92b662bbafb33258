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
from connectorhub.exceptions import BadRequest, CsrfRejected, TooManyRequests, ValidationFailed
from connectorhub.tenant import service as tenant_service
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
    _set_login_csrf(request, response, token)
    return response


def _set_login_csrf(request: Request, response: Response, token: str) -> None:
    """Forms shown before sign-in (login, an invitation link) are CSRF-checked by a cookie."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
        max_age=3600,
    )  # fmt: skip


def _check_login_csrf(request: Request, csrf_token: str) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        raise CsrfRejected()


def _signed_in(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME, token, httponly=True, samesite="lax", secure=_secure(request),
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()), path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
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
    _check_login_csrf(request, csrf_token)
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
    return _signed_in(request, token, _safe_next(request, next))


# --- An invitation link: join the inviting workspace as the invited email ----------------------


def _join_page(
    request: Request, token: str, invitation: object, *, error: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    csrf = secrets.token_urlsafe(32)
    request.state.csrf_token = csrf
    context = {"invitation": invitation, "token": token, "error": error}
    response = render(request, "auth/join.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token is in the URL
    _set_login_csrf(request, response, csrf)
    return response


@router.get("/join/{token}")
async def join_form(request: Request, session: DbSession, token: str) -> Response:
    invitation = await tenant_service.invitation_by_token(session, token)
    return _join_page(request, token, invitation, status_code=200 if invitation else 404)


@router.post("/join/{token}")
async def join(
    request: Request,
    session: DbSession,
    token: str,
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Accept with the invited email's account: its password, or a new password for an email
    without an account. The page asks the same either way and a short password is refused
    alike; only a wrong password for an existing account answers differently."""
    _check_login_csrf(request, csrf_token)
    invitation = await tenant_service.invitation_by_token(session, token)
    if invitation is None:
        return _join_page(request, token, None, status_code=404)
    keys = (f"email:{invitation.email}", f"ip:{request.client.host if request.client else '?'}")
    try:
        _throttle(request).check(*keys)
        async with session.begin_nested():
            user, joined = await tenant_service.join(session, token, password)
    except (TooManyRequests, ValidationFailed, BadRequest) as exc:
        if isinstance(exc, ValidationFailed):
            _throttle(request).failed(*keys)
        message = exc.message if not isinstance(exc, ValidationFailed) else "Wrong password."
        return _join_page(request, token, invitation, error=message, status_code=400)
    _throttle(request).succeeded(*keys)
    _, session_token = await sessions.open_session(session, user, joined.workspace_id)
    return _signed_in(request, session_token, ui_prefix(request) + "/connectors/catalog")


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
