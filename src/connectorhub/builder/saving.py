"""Saving the builder's draft: a new HTTP connector, or the edited one, optionally activated,
by the connector service's own rules (so its errors keep their paths)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from connectorhub.builder.schemas import DraftSave
from connectorhub.builder.service import HTTP_KEY, shape_errors
from connectorhub.connector import service as connector_service
from connectorhub.connector.models import ConnectorStatus
from connectorhub.connector.schemas import ConnectorCreate, ConnectorPatch, ConnectorRead
from connectorhub.definition.jsonpaths import compile_path
from connectorhub.exceptions import ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope


async def save(scope: WorkspaceScope, box: SecretBox, body: DraftSave) -> ConnectorRead:
    """Raises ValidationFailed (400 paths as the API gives), NotFound, Conflict (name)."""
    status = ConnectorStatus.active if body.activate else None
    if body.connector_id is not None and not body.activate:
        # The box starts ticked for an active connector: unticked, it is deactivated.
        current = await connector_service.read(scope, body.connector_id)
        if current.status == ConnectorStatus.active:
            status = ConnectorStatus.inactive
    try:
        if body.connector_id is None:
            created = ConnectorCreate(
                catalog_key=HTTP_KEY, name=body.name, config=body.config,
                definition=body.definition,  # type: ignore[arg-type]
            )  # fmt: skip
            saved = await connector_service.install(scope, box, created)
            if status is None:
                return saved
            return await connector_service.edit(scope, box, saved.id, ConnectorPatch(status=status))
        patch = ConnectorPatch(
            name=body.name, config=body.config, definition=body.definition,  # type: ignore[arg-type]
            status=status,
        )  # fmt: skip
    except ValidationError as exc:
        raise ValidationFailed(shape_errors(exc, "")) from None
    return await connector_service.edit(scope, box, body.connector_id, patch)


def preview(path: str, document: Any) -> dict[str, Any]:
    """What a JSONPath finds in a response: `{"value"}` (a list unless the path is singular,
    `{"found": false}` when a singular one matches nothing) or `{"error"}`."""
    try:
        compiled = compile_path(path)
        found = compiled.findall(document)
    except Exception as error:  # a bad path, or a filter's pattern too slow: said, not raised
        return {"error": str(error)}
    if compiled.singular_query():
        return {"value": found[0], "found": True} if found else {"found": False}
    return {"value": list(found), "found": True}
