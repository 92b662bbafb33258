"""Execution pages: the Run form, history (per workspace or connector), a live execution page."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import PageMember, PageViewer
from connectorhub.connector import service as connectors
from connectorhub.connector.run_history import go_to_run, render_history
from connectorhub.exceptions import HubError, ValidationFailed
from connectorhub.execution import service
from connectorhub.execution.models import ExecutionStatus, Trigger
from connectorhub.kit.sse import event_stream
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.schema_form import form_secrets, form_to_instance
from connectorhub.web.templating import hx_target, render, toast_header

router = page_router()


async def _run_form(request: Request, page: PageMember, connector_id: uuid.UUID, **extra):
    connector = await connectors.read(page.scope, connector_id)
    schema = (connector.definition or {}).get("input_schema") or {"type": "object"}
    # Secret fields are password inputs, and what was typed in them is never sent back.
    secret = form_secrets(schema, "input")
    context = {
        "c": connector, "schema": schema, "values": {}, "errors": {}, "secret": secret, **extra
    }  # fmt: skip
    return render(request, "execution/_run_modal.html", context)


@router.get("/connectors/{connector_id}/run")
async def run_form(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    return await _run_form(request, page, connector_id)


@router.post("/connectors/{connector_id}/run")
async def run(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    connector = await connectors.read(page.scope, connector_id)
    schema = (connector.definition or {}).get("input_schema") or {"type": "object"}
    form = await request.form()
    fields = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}  # no uploads
    run_input = form_to_instance(schema, fields, "input")
    try:
        async with page.scope.session.begin_nested():
            execution, _ = await service.start(
                page.scope, page.box, connector_id, run_input,
                trigger=Trigger.manual, idempotency_key=None,
            )  # fmt: skip
    except ValidationFailed as exc:
        return await _run_form(request, page, connector_id, values=run_input, errors=exc.errors)
    except HubError as exc:  # inactive meanwhile, say: shown in the form
        return await _run_form(request, page, connector_id, values=run_input, failure=exc.message)
    return go_to_run(
        request, f"/executions/{execution.id}", f"{connector.name} is running.", live=True
    )


@router.get("/executions")
async def history(
    request: Request,
    page: PageViewer,
    connector_id: uuid.UUID | None = None,
    status: ExecutionStatus | None = None,
) -> Response:
    request.state.page = page
    found = await service.search(
        page.scope, connector_id=connector_id, status=status.value if status else None,
        page_size=100,
    )  # fmt: skip
    return await render_history(
        request, page, found, kind="executions", connector_id=connector_id,
        status=status.value if status else "", statuses=[s.value for s in ExecutionStatus],
    )  # fmt: skip


@router.get("/executions/{execution_id}")
async def detail(request: Request, page: PageViewer, execution_id: uuid.UUID) -> Response:
    request.state.page = page
    execution = await service.read(page.scope, execution_id)
    connector = await connectors.read(page.scope, execution.connector_id)
    context = {
        "section": "executions", "e": execution, "connector": connector,
        "finished": ExecutionStatus(execution.status).finished,
        "can_run": page.principal.effective_role.at_least(Role.member),
    }  # fmt: skip
    if hx_target(request) == "execution-live":
        return render(request, "execution/_live.html", context)
    return render(request, "execution/detail.html", context)


@router.get("/executions/{execution_id}/events")
async def events(request: Request, page: PageViewer, execution_id: uuid.UUID) -> Response:
    """The live page's stream: each step and status change, then `end` (the page then fetches
    what changed; while the stream is down it polls instead)."""
    await service.read(page.scope, execution_id)  # 404 before the stream starts
    return event_stream(
        service.follow(
            request.app.state.hub.work, page.scope.tenant_id, execution_id,
            lambda e: {"status": e.status}, stop=request.is_disconnected,
        )
    )  # fmt: skip


@router.post("/executions/{execution_id}/cancel")
async def cancel(request: Request, page: PageMember, execution_id: uuid.UUID) -> Response:
    request.state.page = page
    try:
        await service.cancel(page.scope, execution_id)
        message, level = "Cancel requested.", "success"
    except HubError as exc:
        message, level = exc.message, "danger"
    execution = await service.read(page.scope, execution_id)
    connector = await connectors.read(page.scope, execution.connector_id)
    context = {
        "e": execution, "connector": connector, "can_run": True,
        "finished": ExecutionStatus(execution.status).finished,
    }  # fmt: skip
    return render(request, "execution/_live.html", context, headers=toast_header(message, level))
