"""Where a source's syncs load, by the workspace's and the source's choice: the built-in
warehouse (sync/warehouse.py), or a Singer target connector (`kind: target`, installed and
configured like any connector: its config checked against the entry's schema, its credentials
sealed). The workspace picks a default (at most one target is flagged); a source may pick its
own target, the built-in warehouse, or follow the workspace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from connectorhub.audit import service as audit
from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.unreadable import open_auth
from connectorhub.exceptions import BadRequest, NotFound
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync.target import Target

# What was picked, as the API says it: follow the workspace's destination (sources only), the
# built-in warehouse, or a target connector.
FOLLOW, BUILT_IN, TARGET = "workspace", "warehouse", "target"


@dataclass
class Choice:
    """A destination: what was picked (`destination`: FOLLOW, BUILT_IN or TARGET, with the
    target's `destination_id`), and what syncs load into now (`effective_id`, None: the
    built-in warehouse)."""

    destination: str
    destination_id: uuid.UUID | None
    effective_id: uuid.UUID | None
    effective_name: str


def _landing(destination: str, target: Connector | None) -> Choice:
    if target is None:
        return Choice(destination, None, None, BUILT_IN)
    return Choice(destination, target.id if destination == TARGET else None, target.id, target.name)


async def _target(scope: WorkspaceScope, target_id: uuid.UUID) -> Connector:
    """Raises NotFound (none in this workspace), BadRequest (not a Singer target)."""
    target = await ConnectorRepository(scope).get_with_catalog(target_id)
    if target is None:
        raise NotFound("destination connector not found")
    if target.catalog.kind != "target":
        raise BadRequest("a destination must be a Singer target connector (kind target)")
    return target


async def targets(scope: WorkspaceScope) -> list[Connector]:
    """The workspace's Singer target connectors, by name."""
    return list(await ConnectorRepository(scope).of_kind("target"))


async def workspace_default(scope: WorkspaceScope) -> Connector | None:
    """The target picked for the workspace, None for the built-in warehouse."""
    return await ConnectorRepository(scope).default_destination()


async def set_workspace_default(scope: WorkspaceScope, target_id: uuid.UUID | None) -> None:
    """Pick the workspace's default destination (None: the built-in warehouse). Raises
    NotFound, BadRequest."""
    repository = ConnectorRepository(scope)
    target = await _target(scope, target_id) if target_id is not None else None
    current = await repository.default_destination()
    if (current and current.id) == (target and target.id):
        return
    await repository.clear_default_destination()
    await scope.session.flush()
    if target is not None:
        target.default_destination = True
        repository.touch(target)
    audit.record(
        scope, "workspace.destination_changed", "connector", target.id if target else None,
        object_name=target.name if target else BUILT_IN, fields=["default_destination"],
    )  # fmt: skip


async def workspace_choice(scope: WorkspaceScope) -> Choice:
    default = await workspace_default(scope)
    return _landing(TARGET if default else BUILT_IN, default)


async def source_choice(scope: WorkspaceScope, source_id: uuid.UUID) -> Choice:
    """Raises NotFound, BadRequest (not a source)."""
    return await choice_of(scope, await _source(scope, source_id))


async def _source(scope: WorkspaceScope, source_id: uuid.UUID, for_update: bool = False):
    source = await ConnectorRepository(scope).get_with_catalog(source_id, for_update=for_update)
    if source is None:
        raise NotFound("connector not found")
    if source.catalog.kind != "source":
        raise BadRequest("only source connectors have a destination")
    return source


async def choice_of(scope: WorkspaceScope, source: Connector) -> Choice:
    """A source's own target first, then its pick of the built-in warehouse, else the
    workspace's destination."""
    if source.destination_id is not None:
        target = await ConnectorRepository(scope).get(source.destination_id)
        if target is not None:
            return _landing(TARGET, target)
    if source.destination_warehouse:
        return _landing(BUILT_IN, None)
    return _landing(FOLLOW, await workspace_default(scope))


async def set_source_destination(
    scope: WorkspaceScope, source_id: uuid.UUID, target_id: uuid.UUID | None,
    *, warehouse: bool = False,
) -> Choice:  # fmt: skip
    """A source's own destination: a target, the built-in warehouse (`warehouse`), or neither
    (follow the workspace's). Raises NotFound, BadRequest (not a source, not a target, or both
    a target and the warehouse)."""
    if warehouse and target_id is not None:
        raise BadRequest("pick a target or the built-in warehouse, not both")
    source = await _source(scope, source_id, for_update=True)
    if target_id is not None:
        await _target(scope, target_id)
    changed = [
        name for name, before, after in (
            ("destination_id", source.destination_id, target_id),
            ("destination_warehouse", source.destination_warehouse, warehouse),
        ) if before != after
    ]  # fmt: skip
    if changed:
        source.destination_id, source.destination_warehouse = target_id, warehouse
        ConnectorRepository(scope).touch(source)
        audit.record(
            scope, "connector.updated", "connector", source.id, object_name=source.name,
            fields=changed,
        )  # fmt: skip
    return await choice_of(scope, source)


async def target_for(scope: WorkspaceScope, box: SecretBox, source: Connector) -> Target | None:
    """The Singer target a source's sync loads into, ready to run (None: the built-in
    warehouse). Raises CredentialsUnreadable (the target's sealed auth does not decrypt)."""
    choice = await choice_of(scope, source)
    if choice.effective_id is None:
        return None
    target = await _target(scope, choice.effective_id)
    entry = target.catalog
    secrets = await open_auth(scope, box, target)
    rename = entry.plugin.get("settings_rename") or {}
    config = {rename.get(k, k): v for k, v in {**target.config, **secrets}.items()}
    hidden = {f["name"] for f in entry.auth_fields if f.get("secret", True)}
    return Target(
        target.id, target.name, entry.plugin, config,
        [v for k, v in secrets.items() if k in hidden and isinstance(v, str)],
    )  # fmt: skip
