"""The HTTP connector builder's pages: a wizard at /connectors/build (new) and
/connectors/{id}/build (edit). The page holds the draft; these routes check it, test-run it and
save it with the same services the API uses (builder/service.py, connector/service.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from connectorhub.auth.dependencies import PageAdmin
from connectorhub.builder import saving, service
from connectorhub.builder.schemas import DraftCheck, DraftSave, DraftStep, DraftTest, PathPreview
from connectorhub.catalog import service as catalog_service
from connectorhub.connector import service as connector_service
from connectorhub.credential import service as credentials
from connectorhub.exceptions import NotFound, ValidationFailed
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render, ui_prefix

router = page_router()

NEW_DRAFT: dict[str, Any] = {
    "name": "",
    "config": {"base_url": "", "default_headers": {}},
    "definition": {
        "input_schema": {"type": "object", "properties": {}},
        "steps": [{"name": "step1", "method": "GET", "url": "/"}],
    },
}


async def _builder(request: Request, page: PageAdmin, draft: dict[str, Any], connector=None):
    request.state.page = page
    found = await credentials.listing(page.scope)
    context = {
        "section": "connectors",
        "connector": connector,
        "draft": draft,
        "credentials": [{"name": c.name, "kind": c.kind.value} for c in found.items],
    }
    return render(request, "builder/build.html", context)


@router.get("/connectors/build")
async def new_builder(request: Request, page: PageAdmin) -> Response:
    return await _builder(request, page, json.loads(json.dumps(NEW_DRAFT)))


@router.get("/connectors/{connector_id}/build")
async def edit_builder(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    connector = await connector_service.read(page.scope, connector_id)
    if connector.kind != service.HTTP_KEY:
        raise NotFound("only HTTP connectors have requests to build")
    draft = {
        "name": connector.name,
        "config": connector.config,
        "definition": connector.definition or NEW_DRAFT["definition"],
    }
    return await _builder(request, page, draft, connector)


@router.post("/connectors/build/check")
async def check(page: PageAdmin, body: DraftCheck) -> JSONResponse:
    """The draft's problems by path (`{"errors": {}}` when there are none)."""
    entry = await service.http_entry(page.scope)
    _, errors = service.definition_problems(entry, body.definition)
    errors |= catalog_service.config_errors(entry, body.config)
    return JSONResponse({"errors": errors})


@router.post("/connectors/build/test")
async def test_run(request: Request, page: PageAdmin, body: DraftTest) -> Response:
    """One JSON line per step as it starts and ends, then the result (NDJSON); the error map
    (JSON) when the draft has problems. The steps run once the transaction has ended."""
    try:
        prepared = await service.prepare(page.scope, page.box, body)
    except ValidationFailed as failure:
        # 200: a draft shown again with its messages is a successful answer for the browser.
        return JSONResponse(failure.to_json())
    hub = request.app.state.hub
    return StreamingResponse(
        _lines(hub, page.scope.tenant_id, prepared), media_type="application/x-ndjson",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )  # fmt: skip


async def _lines(hub: Any, tenant_id: str, prepared: service.Prepared) -> AsyncIterator[str]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def on_step(index: int, step: DraftStep) -> None:
        await queue.put(json.dumps({"event": "step", "index": index, "step": step.model_dump()}))

    async def go() -> None:
        try:
            result = await service.run(hub.context, tenant_id, prepared, on_step=on_step)
            await queue.put(json.dumps({"event": "result", "result": result.model_dump()}))
        finally:
            await queue.put(None)

    task = asyncio.create_task(go())
    try:
        while (line := await queue.get()) is not None:
            yield line + "\n"
    finally:
        task.cancel()


@router.post("/connectors/build/preview")
async def preview(page: PageAdmin, body: PathPreview) -> JSONResponse:
    """What a JSONPath finds in the last test response (off the loop: a big document)."""
    return JSONResponse(await asyncio.to_thread(saving.preview, body.path, body.document))


@router.post("/connectors/build/save")
async def save(request: Request, page: PageAdmin, body: DraftSave) -> JSONResponse:
    try:
        async with page.scope.session.begin_nested():  # a refused save leaves nothing behind
            saved = await saving.save(page.scope, page.box, body)
    except ValidationFailed as failure:
        return JSONResponse(failure.to_json())  # 200, as for the test run's refusal
    state = "active" if saved.status.value == "active" else "saved, inactive"
    return JSONResponse({
        "id": str(saved.id), "status": saved.status.value,
        "message": f"{saved.name} {state}.",
        "location": f"{ui_prefix(request)}/connectors/installed?search={quote(saved.name)}",
    })  # fmt: skip
