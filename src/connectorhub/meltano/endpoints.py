"""Meltano projects in and out: `POST /api/meltano/import`, `GET /api/meltano/export`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import PlainTextResponse
from starlette.datastructures import UploadFile

from connectorhub.auth.dependencies import AdminContext, ViewerContext
from connectorhub.exceptions import BadRequest
from connectorhub.kit.routing import hub_router
from connectorhub.meltano import service
from connectorhub.meltano.export import export_project
from connectorhub.meltano.schemas import ImportResult

router = hub_router(tags=["meltano"])
SECRET_PREFIX = "secret."
MAX_FILE_BYTES = 1_000_000

_BODY = {
    "requestBody": {
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "environment": {"type": "string"},
                    },
                    "additionalProperties": {
                        "type": "string",
                        "description": "`secret.VAR`: the value of an environment variable "
                        "the file reads (never logged, sealed as the connector's auth).",
                    },
                }
            },
        }
    }
}


async def read_upload(request: Request) -> tuple[str, str | None, dict[str, str]]:
    """The file, the environment field and the `secret.VAR` fields of a multipart form, or a
    raw YAML body. Raises BadRequest."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        body = await request.body()
        environment = None
    else:
        form = await request.form()
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            body = await upload.read(MAX_FILE_BYTES + 1)
        elif isinstance(upload, str):
            body = upload.encode()
        else:
            raise BadRequest("send the meltano.yml as the form field `file`")
        environment = str(form.get("environment") or "") or None
        values = {
            key.removeprefix(SECRET_PREFIX): value
            for key, value in form.multi_items()
            if key.startswith(SECRET_PREFIX) and isinstance(value, str) and value
        }
        return _text(body), environment, values
    return _text(body), environment, {}


def _text(body: bytes) -> str:
    if len(body) > MAX_FILE_BYTES:
        raise BadRequest("the meltano.yml is larger than 1 MB")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the meltano.yml is not UTF-8 text") from None


@router.post(
    "/meltano/import", response_model=ImportResult, openapi_extra=_BODY,
    responses={400: {"description": "Unreadable file (`line` says where), or a setting, "
                     "schedule or value refused (`errors`)"}},
)  # fmt: skip
async def import_meltano(
    request: Request,
    context: AdminContext,
    dry_run: Annotated[bool, Query(description="Only show what would be created")] = False,
    environment: Annotated[str | None, Query(max_length=100)] = None,
) -> ImportResult:
    """Each extractor becomes (or updates) a source connector; nothing is written when any of
    them is refused."""
    text, form_environment, values = await read_upload(request)
    return await service.import_project(
        context.scope, context.box, text, environment=environment or form_environment,
        values=values, dry_run=dry_run,
        allow_custom=request.app.state.hub.settings.meltano_custom_taps,
    )  # fmt: skip


@router.get(
    "/meltano/export", response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {}}}},
)  # fmt: skip
async def export_meltano(
    context: ViewerContext,
    loader: Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")] = (
        "target-jsonl"
    ),
) -> PlainTextResponse:
    """The workspace's source connectors as a meltano.yml (credentials as `$VAR` references)."""
    text = await export_project(context.scope, loader=loader)
    return PlainTextResponse(
        text, media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="meltano.yml"'},
    )  # fmt: skip
