"""Jinja rendering for pages: full page, or only the fragment an HTMX request targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def sentence(text: str) -> str:
    """API messages are lower-case fragments; people read sentences."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1|plural('run')` is "1 run", `2|plural('run')` "2 runs" (thousands grouped); `many` for irregular words."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


# Schemas a database keeps for itself (a Singer stream is named `<schema>-<table>`).
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


def system_stream(name: str) -> bool:
    """A stream of the database's own catalog, not of its data."""
    return name.split("-", 1)[0] in SYSTEM_SCHEMAS


templates.env.filters["sentence"] = sentence
templates.env.tests["system_stream"] = system_stream
templates.env.filters["plural"] = plural


def ui_prefix(request: Request) -> str:
    return request.scope.get("root_path", "") + getattr(request.app.state, "ui_prefix", "")


def _url(request: Request, path: str) -> str:
    return ui_prefix(request) + path


def is_htmx(request: Request) -> bool:
    # A history restore wants the whole page back, not a fragment.
    return (
        request.headers.get("hx-request") == "true"
        and "hx-history-restore-request" not in request.headers
    )


def hx_target(request: Request) -> str | None:
    return request.headers.get("hx-target") if is_htmx(request) else None


def toast_header(
    message: str, level: str = "success", *, close_modal: bool = False, until_finished: bool = False
) -> dict[str, str]:
    """An HX-Trigger header that makes the page show a toast (and close the open modal).

    `until_finished`: the toast says a run is going on, so it stays while the page shows that run
    live and goes once the run has finished (or the page no longer shows it)."""
    toast: dict[str, Any] = {"level": level, "message": message}
    if until_finished:
        toast["untilFinished"] = True
    events: dict[str, Any] = {"toast": toast}
    if close_modal:
        events["closeModal"] = True
    return {"HX-Trigger": json.dumps(events)}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    page = getattr(request.state, "page", None)
    values = {
        "request": request,
        "url": lambda path: _url(request, path),
        "static": lambda path: _url(request, "/static/" + path),
        "page": page,
        "principal": page.principal if page else None,
        "csrf_token": page.csrf_token if page else getattr(request.state, "csrf_token", ""),
        "htmx": is_htmx(request),
        "hx_target": hx_target(request),
        **(context or {}),
    }
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


def render_settings(request: Request, section: str, context: dict[str, Any]) -> HTMLResponse:
    """A Settings section (`members`, `credentials`, `webhooks`…): the whole page, or only its
    part when HTMX asked for `#<section>`; with a toast when `context` carries one."""
    partial = hx_target(request) == section
    template = f"settings/_{section}.html" if partial else f"settings/{section}.html"
    toast = context.get("toast")
    return render(request, template, context, headers=toast_header(toast) if toast else None)
