"""The Meltano page: upload a meltano.yml, see what it would create (and give the values it
reads from the environment), then import it; and download the workspace as a meltano.yml.
The rules are meltano/service.py's, as POST /api/meltano/import."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import PageAdmin, PageViewer
from connectorhub.exceptions import HubError, UnreadableFile, ValidationFailed
from connectorhub.meltano import service
from connectorhub.meltano.endpoints import read_upload
from connectorhub.meltano.export import export_project
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, toast_header

router = page_router()


@router.get("/connectors/meltano")
async def meltano_page(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    return render(request, "meltano/import.html", {"section": "connectors"})


def _problems(error: HubError) -> list[str]:
    if isinstance(error, ValidationFailed):
        return [f"{path}: {' '.join(messages)}" for path, messages in error.errors.items()]
    return [error.message]


async def _step(request: Request, page: PageAdmin, *, dry_run: bool) -> Response:
    request.state.page = page
    text, environment, values = await read_upload(request)
    context: dict[str, Any] = {"text": text, "environment": environment or ""}
    try:
        result = await service.import_project(
            page.scope, page.box, text, environment=environment, values=values,
            dry_run=dry_run, allow_custom=request.app.state.hub.settings.meltano_custom_taps,
        )  # fmt: skip
    except (UnreadableFile, ValidationFailed) as refused:
        context["problems"] = _problems(refused)
        context["line"] = getattr(refused, "line", None)
        return render(request, "meltano/_preview.html", context)
    if dry_run:
        # Values given already are asked again: they are never sent back to the browser.
        context["result"] = result
        context["asked"] = list(
            dict.fromkeys([*values, *(n for c in result.connectors for n in c.needs)])
        )
        return render(request, "meltano/_preview.html", context)
    names = ", ".join(c.name for c in result.connectors) or "nothing"
    return render(
        request, "meltano/_done.html", {"result": result},
        headers=toast_header(f"Imported {names} from the meltano.yml."),
    )  # fmt: skip


@router.post("/connectors/meltano/preview")
async def meltano_preview(request: Request, page: PageAdmin) -> Response:
    return await _step(request, page, dry_run=True)


@router.post("/connectors/meltano/import")
async def meltano_import(request: Request, page: PageAdmin) -> Response:
    return await _step(request, page, dry_run=False)


@router.get("/connectors/meltano/export")
async def meltano_download(page: PageViewer) -> Response:
    return Response(
        await export_project(page.scope), media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="meltano.yml"'},
    )  # fmt: skip
