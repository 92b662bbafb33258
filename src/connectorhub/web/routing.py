"""Page routes: the shared input guards, plus errors rendered for people (toast or error page)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from connectorhub.exceptions import HubError, LoginRequired, ValidationFailed
from connectorhub.kit.routing import GuardedRoute
from connectorhub.web.templating import is_htmx, render, sentence, toast_header, ui_prefix

log = logging.getLogger(__name__)


def render_error(request: Request, exc: HubError) -> Response:
    login = ui_prefix(request) + "/login"
    if isinstance(exc, LoginRequired):
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": login})
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{login}?next={target}", status_code=303)
    if is_htmx(request):
        # Shown as a toast; the page around it stays as it was.
        message = exc.message
        if isinstance(exc, ValidationFailed):
            details = "; ".join(
                f"{path.split('.')[-1]}: {' '.join(m)}" for path, m in exc.errors.items()
            )
            message = f"{message}: {details}"
        headers = {
            **toast_header(sentence(message), "danger"),
            "HX-Reswap": "none",
            **(exc.headers or {}),
        }
        return Response(status_code=exc.status_code, headers=headers)
    return render(
        request, "error.html", {"error": exc}, status_code=exc.status_code, headers=exc.headers
    )


class PageRoute(GuardedRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_error_pages(request: Request) -> Response:
            try:
                return await handler(request)
            except HubError as exc:
                return render_error(request, exc)

        return with_error_pages


def page_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)
