"""Source pages: Test (with the discovered streams), the stream picker, the schedule, Sync, and
sync runs (list, and a page whose rows per stream fill in live).

Rules live in sync/service.py and sync/schedule.py; these routes turn forms into the bodies the
API takes and render the outcome.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin, PageMember, PageViewer
from connectorhub.connector import service as connectors
from connectorhub.connector.run_history import go_to_run, render_history
from connectorhub.exceptions import BadRequest, Conflict, HubError, ValidationFailed
from connectorhub.kit.after_commit import AfterCommitResponse
from connectorhub.kit.models import utcnow
from connectorhub.kit.sse import event_stream
from connectorhub.sync import schedule, service
from connectorhub.sync.models import SyncStatus
from connectorhub.sync.schemas import ScheduleUpdate, StreamChoice, StreamSelection
from connectorhub.sync.tasks import run_connection_test
from connectorhub.tenant.models import Role
from connectorhub.web.routing import page_router
from connectorhub.web.templating import hx_target, plural, render, toast_header

router = page_router()
CARD_RIGHTS = {"can_edit": True, "can_run": True}


def _can_edit(page: PageViewer) -> bool:
    return page.principal.effective_role.at_least(Role.admin)


@router.post("/connectors/{connector_id}/test")
async def test(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    """Runs discovery once this request's transaction is done, then shows the outcome (and,
    for admins, the stream picker) in the modal; the card follows the connector's status."""
    request.state.page = page
    found = await service.source(page.scope, page.box, connector_id)  # 404/400 before running
    hub, tenant_id, can_edit = request.app.state.hub, page.scope.tenant_id, _can_edit(page)
    if not hub.plugins.installed(found.plugin):
        # First use: install in the background; the modal shows pip's output and tests after.
        hub.plugins.install_in_background(found.plugin, hub.run_soon)
        return await install_progress(request, page, connector_id)

    async def test_and_render() -> Response:
        try:
            result = await run_connection_test(hub.context, tenant_id, connector_id)
            connector = await connectors.read_now(hub.work, tenant_id, connector_id)
        except HubError as exc:  # deleted meanwhile, say
            return Response(status_code=204, headers=toast_header(exc.message, "danger"))
        context = {"c": connector, "test": result, "streams": result.streams,
                   "can_edit": can_edit, "can_run": True}  # fmt: skip
        level = "success" if result.ok else "danger"
        message = (
            f"{connector.name}: connection works, {plural(len(result.streams), 'stream')} found."
            if result.ok
            else f"{connector.name}: connection test failed."
        )
        return render(
            request, "sync/_test_modal.html", context, headers=toast_header(message, level)
        )

    return AfterCommitResponse(test_and_render)


@router.get("/connectors/{connector_id}/install")
async def install_progress(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    """The tap's install as it goes (polled); once it is there, the test starts by itself. A
    GET only looks: an install not under way here (started by another process, or before a
    restart) is started again by the Test button's POST, never by a link."""
    request.state.page = page
    found = await service.source(page.scope, page.box, connector_id)
    hub = request.app.state.hub
    installed = hub.plugins.installed(found.plugin)
    progress = hub.plugins.installs.get(found.plugin["name"])
    context = {
        "c": await connectors.read(page.scope, connector_id), "plugin": found.plugin["name"],
        "progress": progress, "installed": installed,
    }  # fmt: skip
    if hx_target(request) == "install-progress":
        return render(request, "sync/_install_progress.html", context)
    return render(request, "sync/_install_modal.html", context)


@router.get("/connectors/{connector_id}/install/events")
async def install_events(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    """The install modal's stream: `progress` as pip prints, then `end`."""
    found = await service.source(page.scope, page.box, connector_id)
    plugins = request.app.state.hub.plugins
    return event_stream(plugins.follow_install(found.plugin["name"], stop=request.is_disconnected))


async def _picker(request: Request, page: PageAdmin, connector_id: uuid.UUID, **extra: Any):
    connector = await connectors.read(page.scope, connector_id)
    try:
        streams = await service.streams(page.scope, connector_id)
    except Conflict as exc:
        streams, extra = [], {"failure": exc.message, **extra}
    context = {"c": connector, "streams": streams, "errors": {}, **extra}
    return render(request, "sync/_streams_modal.html", context)


@router.get("/connectors/{connector_id}/streams")
async def streams_form(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    return await _picker(request, page, connector_id)


def _selection(form: Any) -> StreamSelection:
    """Checkbox `stream` per picked name; `method:<name>` and `key:<name>` beside each."""
    choices = []
    for name in form.getlist("stream"):
        method = str(form.get(f"method:{name}") or "FULL_TABLE")
        key = str(form.get(f"key:{name}") or "") or None
        replication_key = key if method == "INCREMENTAL" else None
        choices.append(StreamChoice.model_validate(
            {"name": str(name), "replication_method": method, "replication_key": replication_key}
        ))  # fmt: skip
    return StreamSelection(streams=choices)


@router.post("/connectors/{connector_id}/streams")
async def pick_streams(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    try:
        selection = _selection(await request.form())
        async with page.scope.session.begin_nested():
            await service.select_streams(page.scope, connector_id, selection)
    except ValidationError:
        return await _picker(
            request,
            page,
            connector_id,
            failure="Pick at least one stream, each full table or incremental.",
        )
    except ValidationFailed as exc:
        return await _picker(request, page, connector_id, errors=exc.errors, failure=exc.message)
    connector = await connectors.read(page.scope, connector_id)
    picked = len(connector.selected_streams or [])
    return render(
        request, "connector/_card_oob.html", {"c": connector, **CARD_RIGHTS},
        headers=toast_header(f"{connector.name}: {plural(picked, 'stream')} will sync."),
    )  # fmt: skip


async def _schedule_form(request: Request, page: PageAdmin, connector_id: uuid.UUID, **extra):
    connector = await connectors.read(page.scope, connector_id)
    values = {"cron": connector.schedule or "", "timezone": connector.schedule_timezone or "UTC"}
    context = {"c": connector, "values": values, "errors": {}, **extra}
    return render(request, "sync/_schedule_modal.html", context)


@router.get("/connectors/{connector_id}/schedule")
async def schedule_form(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    return await _schedule_form(request, page, connector_id)


@router.post("/connectors/{connector_id}/schedule")
async def set_schedule(request: Request, page: PageAdmin, connector_id: uuid.UUID) -> Response:
    request.state.page = page
    form = await request.form()
    values = {"cron": str(form.get("cron") or "").strip(),
              "timezone": str(form.get("timezone") or "UTC").strip()}  # fmt: skip
    if form.get("remove"):
        values["cron"] = ""
    try:
        body = ScheduleUpdate(cron=values["cron"] or None, timezone=values["timezone"])
        saved = await schedule.set_schedule(page.scope, connector_id, body, now=utcnow())
    except ValidationFailed as exc:
        return await _schedule_form(request, page, connector_id, values=values, errors=exc.errors)
    except ValidationError:
        errors = {"cron": ["At most 100 characters."], "timezone": ["At most 64 characters."]}
        return await _schedule_form(request, page, connector_id, values=values, errors=errors)
    connector = await connectors.read(page.scope, connector_id)
    verb = "runs" if connector.kind == "http" else "syncs"
    message = (
        f"{connector.name} {verb} on “{saved.cron}”; next at "
        f"{saved.next_sync_at:%Y-%m-%d %H:%M} UTC."
        if saved.cron and saved.next_sync_at
        else f"{connector.name} no longer {verb} on a schedule."
    )
    return render(
        request, "connector/_card_oob.html", {"c": connector, **CARD_RIGHTS},
        headers=toast_header(message),
    )  # fmt: skip


@router.post("/connectors/{connector_id}/sync")
async def sync(request: Request, page: PageMember, connector_id: uuid.UUID) -> Response:
    try:
        async with page.scope.session.begin_nested():
            run = await service.start(page.scope, connector_id, trigger="manual")
    except (Conflict, BadRequest) as exc:  # already syncing, or no streams picked: say so
        return Response(status_code=204, headers=toast_header(exc.message, "danger"))
    return go_to_run(request, f"/syncs/{run.id}", "Sync started.", live=True)


@router.get("/syncs")
async def history(
    request: Request,
    page: PageViewer,
    connector_id: uuid.UUID | None = None,
    status: SyncStatus | None = None,
) -> Response:
    request.state.page = page
    found = await service.search(
        page.scope, connector_id=connector_id, status=status.value if status else None,
        page_size=100,
    )  # fmt: skip
    return await render_history(
        request, page, found, kind="syncs", connector_id=connector_id,
        status=status.value if status else "", statuses=[s.value for s in SyncStatus],
    )  # fmt: skip


async def _live_context(page: PageViewer, run_id: uuid.UUID) -> dict[str, Any]:
    run = await service.read(page.scope, run_id)
    return {
        "section": "syncs", "r": run, "finished": SyncStatus(run.status).finished,
        "connector": await connectors.read(page.scope, run.connector_id),
        "can_run": page.principal.effective_role.at_least(Role.member),
    }  # fmt: skip


@router.get("/syncs/{run_id}")
async def detail(request: Request, page: PageViewer, run_id: uuid.UUID) -> Response:
    request.state.page = page
    context = await _live_context(page, run_id)
    if hx_target(request) == "sync-live":
        return render(request, "sync/_live.html", context)
    return render(request, "sync/detail.html", context)


@router.get("/syncs/{run_id}/events")
async def events(request: Request, page: PageViewer, run_id: uuid.UUID) -> Response:
    """The live page's stream: rows as they load, status changes, then `end`."""
    await service.read(page.scope, run_id)  # 404 before the stream starts
    return event_stream(
        service.follow(
            request.app.state.hub.work, page.scope.tenant_id, run_id,
            lambda r: {"status": r.status}, stop=request.is_disconnected,
        )
    )  # fmt: skip


@router.post("/syncs/{run_id}/cancel")
async def cancel(request: Request, page: PageMember, run_id: uuid.UUID) -> Response:
    request.state.page = page
    try:
        await service.cancel(page.scope, run_id)
        message, level = "Cancel requested: the sync stops at its next checkpoint.", "success"
    except Conflict as exc:
        message, level = exc.message, "danger"
    context = await _live_context(page, run_id)
    return render(request, "sync/_live.html", context, headers=toast_header(message, level))
