"""The Installed tab's bulk actions: the selected cards' ids, one confirmation for a delete,
then a result per connector. The rules are connector/bulk.py's, as POST /api/connectors/bulk."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from connectorhub.auth.dependencies import PageAdmin
from connectorhub.connector import bulk
from connectorhub.connector.schemas import MAX_BULK_IDS, BulkAction, BulkRequest
from connectorhub.exceptions import ValidationFailed
from connectorhub.web.routing import page_router
from connectorhub.web.templating import render

router = page_router()

DONE = {
    BulkAction.activate: "activated",
    BulkAction.deactivate: "deactivated",
    BulkAction.add_tag: "tagged",
    BulkAction.remove_tag: "untagged",
    BulkAction.delete: "deleted",
}
# Why a form could not be taken, in words (Pydantic's are for developers).
FORM_PROBLEMS = {
    "ids": f"Select between 1 and {MAX_BULK_IDS} connectors.",
    "action": "Pick an action.",
    "tag": "A tag is 1 to 50 characters.",
}


def _panel(request: Request, context: dict[str, Any], headers: dict[str, str] | None = None):
    return render(request, "connector/_bulk_results.html", context, headers=headers)


@router.post("/connectors/bulk")
async def bulk_action(request: Request, page: PageAdmin) -> Response:
    request.state.page = page
    form = await request.form()
    # The cards send each connector's name beside its id: what a result names one no longer
    # found (another admin deleted it) by.
    names = {key[5:]: str(value) for key, value in form.items() if key.startswith("name.")}
    try:
        body = BulkRequest(
            action=form.get("action"),  # type: ignore[arg-type]
            ids=form.getlist("ids"),  # type: ignore[arg-type]
            tag=str(form.get("tag") or "").strip() or None,
        )
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        problems = [FORM_PROBLEMS[field] for field in FORM_PROBLEMS if field in fields]
        return _panel(request, {"problems": problems or ["The form could not be read."]})
    ids = list(dict.fromkeys(body.ids))
    if body.action == BulkAction.delete and form.get("confirmed") != "yes":
        selected = [(i, names.get(str(i), str(i))) for i in ids]
        return _panel(request, {"confirm": selected, "names": names})
    try:
        outcome = await bulk.apply(page.scope, page.box, body)
    except ValidationFailed as exc:  # a tag action without its tag
        return _panel(request, {"problems": [m for ms in exc.errors.values() for m in ms]})
    done = sum(r.ok for r in outcome.results)
    context = {
        "action": body.action, "done_word": DONE[body.action],
        "tag": body.tag if body.action in (BulkAction.add_tag, BulkAction.remove_tag) else None,
        "results": outcome.results, "done": done, "names": names,
    }  # fmt: skip
    # The cards show what changed: the filter form fetches them again on this event.
    return _panel(request, context, headers={"HX-Trigger": json.dumps({"connectorsChanged": True})})
