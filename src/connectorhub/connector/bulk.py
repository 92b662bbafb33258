"""Bulk actions on installed connectors: each item goes through the single-connector service
(edit, retag, delete: same rules, same audit events) and gets a result of its own.

One item's failure never undoes the others: each runs in a savepoint of the request's one
transaction, so a refused item leaves nothing behind and cannot poison what follows, and what
succeeded commits with the request. (On SQLite the request's transaction is BEGIN IMMEDIATE;
savepoints nest inside it, a second BEGIN never does.)
"""

from __future__ import annotations

import uuid

from connectorhub.connector import service
from connectorhub.connector.models import ConnectorStatus
from connectorhub.connector.schemas import (
    BulkAction,
    BulkItemResult,
    BulkRequest,
    BulkResults,
    ConnectorPatch,
    ConnectorRead,
)
from connectorhub.exceptions import HubError, NotFound, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope

NOT_FOUND = "not found"
STATUS_FOR = {BulkAction.activate: ConnectorStatus.active,
              BulkAction.deactivate: ConnectorStatus.inactive}  # fmt: skip


async def _apply_one(
    scope: WorkspaceScope, box: SecretBox, body: BulkRequest, connector_id: uuid.UUID
) -> BulkItemResult:
    if body.action == BulkAction.delete:
        connector = await service.read(scope, connector_id)
        await service.delete(scope, connector_id)
        return BulkItemResult(id=connector_id, ok=True, name=connector.name, deleted=True)
    updated: ConnectorRead
    if body.action in STATUS_FOR:
        patch = ConnectorPatch(status=STATUS_FOR[body.action])
        updated = await service.edit(scope, box, connector_id, patch)
    else:
        assert body.tag is not None
        tag = (body.tag,)
        adding = body.action == BulkAction.add_tag
        updated = await service.retag(
            scope, box, connector_id, add=tag if adding else (), remove=() if adding else tag
        )
    return BulkItemResult(
        id=connector_id, ok=True, name=updated.name, status=updated.status,
        warnings=updated.warnings,
    )  # fmt: skip


async def _refused(
    scope: WorkspaceScope, connector_id: uuid.UUID, refused: HubError
) -> BulkItemResult:
    """A refused item, with the name and the (unchanged) status it has."""
    current = await service.read(scope, connector_id)
    return BulkItemResult(
        id=connector_id, ok=False, name=current.name, status=current.status,
        error=refused.message,
        errors=refused.errors if isinstance(refused, ValidationFailed) else {},
    )  # fmt: skip


async def apply(scope: WorkspaceScope, box: SecretBox, body: BulkRequest) -> BulkResults:
    """Apply `body.action` to each connector, in the order given (an id given twice counts
    once). Raises ValidationFailed (400) when a tag action has no tag; an unknown id, or
    another workspace's, is that item's "not found" (never more)."""
    if body.action in (BulkAction.add_tag, BulkAction.remove_tag) and not body.tag:
        raise ValidationFailed({"tag": [f"Required for {body.action.value}."]})
    results = []
    for connector_id in dict.fromkeys(body.ids):
        try:
            async with scope.session.begin_nested():
                results.append(await _apply_one(scope, box, body, connector_id))
        except NotFound:
            results.append(BulkItemResult(id=connector_id, ok=False, error=NOT_FOUND))
        except HubError as refused:
            results.append(await _refused(scope, connector_id, refused))
    return BulkResults(results=results)
