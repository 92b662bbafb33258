"""Installed connector rules: install, edit, status, delete, search, publish targets."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from connectorhub.audit import service as audit
from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.custom_taps import effective_entry
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.schemas import (
    MAX_TAGS,
    ConnectorCreate,
    ConnectorPatch,
    ConnectorRead,
    ExecutionStats,
    PublishTarget,
)
from connectorhub.db import UnitOfWork
from connectorhub.definition.model import Definition, check_definition
from connectorhub.exceptions import Conflict, NotFound, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import Page, WorkspaceScope
from connectorhub.kit.sealing import masked, merge_secrets, shown
from connectorhub.webhook import events as webhooks

TABLE = Connector.__tablename__


def clear_auth_fields(auth_fields: list[dict[str, Any]]) -> set[str]:
    """Auth fields shown as typed: only those the catalog entry says are no secret."""
    return {f["name"] for f in auth_fields if f.get("secret", True) is False}


def _auth_shown(connector: Connector, box: SecretBox | None) -> dict[str, str]:
    """Set auth fields: the secret ones masked; with the box, the ones the catalog entry calls
    no secret (a username) in clear."""
    if box is None:
        return masked(connector.auth)
    clear = clear_auth_fields(effective_entry(connector.catalog, connector.definition).auth_fields)
    return shown(
        box, tenant_id=connector.tenant_id, table=TABLE, row_id=connector.id,
        stored=connector.auth, clear_fields=clear,
    )  # fmt: skip


def to_read(
    connector: Connector, warnings: list[str] | None = None, *, box: SecretBox | None = None
) -> ConnectorRead:
    """The connector as responses show it. Without the box every auth field is masked."""
    entry = connector.catalog
    return ConnectorRead(
        id=connector.id,
        name=connector.name,
        catalog_id=connector.catalog_id,
        catalog_key=entry.key,
        catalog_name=entry.name,
        kind=entry.kind,
        category=entry.category,
        icon=entry.icon,
        auth_type=entry.auth_type,
        status=ConnectorStatus(connector.status),
        status_reason=connector.status_reason,
        config=connector.config,
        auth=_auth_shown(connector, box),
        tags=connector.tags,
        last_test=connector.last_test,
        account=connector.account,
        oauth_provider=(entry.oauth or {}).get("provider_name"),
        oauth=_grant_shown(connector.oauth),
        schedule=connector.schedule,
        schedule_timezone=connector.schedule_timezone,
        selected_streams=connector.selected_streams,
        destination_id=connector.destination_id,
        destination_warehouse=bool(connector.destination_warehouse),
        default_destination=connector.default_destination,
        next_sync_at=connector.next_sync_at,
        definition=connector.definition,
        template_id=connector.template_id,
        template_version=connector.template_version,
        stats=ExecutionStats(
            total=connector.executions_total,
            succeeded=connector.executions_succeeded,
            failed=connector.executions_failed,
            last_run_at=connector.last_run_at,
            avg_duration_ms=connector.avg_duration_ms,
        ),
        created_at=connector.created_at,
        updated_at=connector.updated_at,
        created_by=connector.created_by,
        updated_by=connector.updated_by,
        warnings=warnings or [],
    )


_GRANT_SHOWN = (
    "provider",
    "scopes",
    "expires_at",
    "refresh_expires_at",
    "refreshable",
    "state",
    "reason",
    "connected_at",
    "refreshed_at",
    "refresh_failures",
    "last_refresh_error",
)


def _grant_shown(facts: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: facts[k] for k in _GRANT_SHOWN if k in facts} if facts else None


def _auth_errors(entry: CatalogEntry, auth: dict[str, Any] | None) -> dict[str, list[str]]:
    """Unknown fields are refused; a `none` connector takes no auth at all."""
    known = {field["name"] for field in entry.auth_fields}
    errors: dict[str, list[str]] = {}
    for name in auth or {}:
        if name not in known:
            errors[f"auth.{name}"] = [
                "This connector takes no credentials."
                if entry.auth_type == "none"
                else f"Unknown auth field for {entry.auth_type} auth."
            ]
    return errors


def definition_errors(entry: CatalogEntry, definition: Definition | None) -> dict[str, list[str]]:
    if definition is None:
        return {}
    if entry.kind != "http":
        return {"definition": ["Only HTTP connectors take a definition."]}
    try:
        check_definition(
            definition,
            config_schema=entry.default_config_schema,
            secret_fields=[field["name"] for field in entry.auth_fields],
        )
    except ValidationFailed as failure:
        return {f"definition.{path}": messages for path, messages in failure.errors.items()}
    return {}


def _stored_definition(definition: Definition | None) -> dict[str, Any] | None:
    return None if definition is None else definition.model_dump(mode="json", by_alias=True)


def _missing_auth(entry: CatalogEntry, sealed: dict[str, str]) -> dict[str, list[str]]:
    """Presence rules for the entry's auth type (an API key for api_key, a pair for basic…)."""
    return {
        f"auth.{field['name']}": ["Required before the connector can be activated."]
        for field in entry.auth_fields
        if field["required"] and field["name"] not in sealed
    }


def _status_warnings(
    entry: CatalogEntry,
    connector: Connector,
    target: ConnectorStatus,
    auth: dict[str, str],
    config: dict[str, Any],
) -> list[str]:
    """Check a status a person sets, against the values it will have. Raises ValidationFailed."""
    current = ConnectorStatus(connector.status)
    if target == ConnectorStatus.active:
        # The catalog schema may have changed since the config was saved: check both again.
        errors = catalog_service.config_errors(entry, config) | _missing_auth(entry, auth)
        if errors:
            raise ValidationFailed(errors, "the connector cannot be activated yet")
    if target == current:
        return []
    if target == ConnectorStatus.active and current == ConnectorStatus.error:
        return [
            f"Re-activated by hand; the last error was: {connector.status_reason or 'unknown'}."
        ]
    if target == ConnectorStatus.error:
        return [
            "Status set to error by hand; the system sets it on failures and a person usually "
            "does not need to."
        ]
    return []


async def entry_for(
    scope: WorkspaceScope, catalog_key: str | None, catalog_id: uuid.UUID | None = None
) -> CatalogEntry:
    """The catalog entry named (by id, else key). Raises ValidationFailed (400) when none."""
    reference = str(catalog_id) if catalog_id else str(catalog_key)
    try:
        return await catalog_service.entry_by_id_or_key(scope.session, reference)
    except NotFound as exc:
        raise ValidationFailed({"catalog_key": [f"No catalog entry {reference!r}."]}) from exc


async def _flush_checking_name(scope: WorkspaceScope, name: str) -> None:
    try:
        await scope.session.flush()
    except IntegrityError as exc:  # a concurrent request took the name between check and insert
        raise Conflict(f"a connector named {name!r} already exists in this workspace") from exc


def install_errors(
    entry: CatalogEntry, config: dict[str, Any], auth: dict[str, Any] | None,
    definition: Definition | None = None,
) -> dict[str, list[str]]:  # fmt: skip
    """What an install would refuse (config, auth and definition), by path: the same checks
    for a connector saved now and for a draft tested before it is saved."""
    errors = catalog_service.config_errors(entry, config) | _auth_errors(entry, auth)
    return errors | definition_errors(entry, definition)


async def install(scope: WorkspaceScope, box: SecretBox, body: ConnectorCreate) -> ConnectorRead:
    """Create a connector (status `inactive`). Raises ValidationFailed (400), Conflict (409)."""
    entry = await entry_for(scope, body.catalog_key, body.catalog_id)
    if errors := install_errors(entry, body.config, body.auth, body.definition):
        raise ValidationFailed(errors)
    repository = ConnectorRepository(scope)
    if await repository.by_name(body.name):
        raise Conflict(f"a connector named {body.name!r} already exists in this workspace")
    connector = Connector(
        id=uuid.uuid4(),
        catalog_id=entry.id,
        name=body.name,
        status=ConnectorStatus.inactive.value,
        config=body.config,
        tags=body.tags,
        definition=_stored_definition(body.definition),
    )
    connector.auth, secret_fields = merge_secrets(
        box,
        tenant_id=scope.tenant_id,
        table=TABLE,
        row_id=connector.id,
        stored={},
        incoming=body.auth,
    )
    connector.catalog = entry
    repository.add(connector)
    await _flush_checking_name(scope, body.name)
    audit.record(
        scope, "connector.created", "connector", connector.id, {"catalog_key": entry.key},
        object_name=body.name, fields=_fields_set(connector, secret_fields),
    )  # fmt: skip
    return to_read(connector, box=box)


async def _get(
    scope: WorkspaceScope, connector_id: uuid.UUID, *, for_update: bool = False
) -> Connector:
    # Writers lock the row: key rotation re-seals under the same lock, so neither overwrites the other.
    connector = await ConnectorRepository(scope).get_with_catalog(
        connector_id, for_update=for_update
    )
    if connector is None:
        raise NotFound("connector not found")
    return connector


async def read(
    scope: WorkspaceScope, connector_id: uuid.UUID, box: SecretBox | None = None
) -> ConnectorRead:
    """With the box, non-secret auth fields are shown in clear. Raises NotFound (also for
    another workspace's connector)."""
    return to_read(await _get(scope, connector_id), box=box)


async def read_now(work: UnitOfWork, tenant_id: str, connector_id: uuid.UUID) -> ConnectorRead:
    """The connector as committed now, in a short transaction of its own (after work that ran
    outside the request's transaction). Raises NotFound."""
    async with work.workspace(tenant_id, None) as scope:
        return await read(scope, connector_id)


def _edit_errors(
    entry: CatalogEntry, sent: dict[str, Any], body: ConnectorPatch
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if sent.get("config") is not None:
        errors |= catalog_service.config_errors(entry, sent["config"])
    errors |= _auth_errors(entry, sent.get("auth"))
    if "definition" in sent:
        errors |= definition_errors(entry, body.definition)
    return errors


def _target_status(
    entry: CatalogEntry, connector: Connector, sent: dict[str, Any], edited: dict[str, Any]
) -> tuple[ConnectorStatus, list[str]]:
    """The status after the edit, and the warnings a hand-set status deserves. Raises
    ValidationFailed when the edited connector could not be (or stay) active."""
    auth, config = edited["auth"], edited["config"]
    if sent.get("status") is not None:
        target = ConnectorStatus(sent["status"])
        warnings = _status_warnings(entry, connector, target, auth, config)
    else:
        target, warnings = ConnectorStatus(connector.status), []
        if target == ConnectorStatus.active and _missing_auth(entry, auth):
            raise ValidationFailed(
                _missing_auth(entry, auth), "an active connector needs its credentials"
            )
    if target == ConnectorStatus.active and entry.kind == "http" and edited["definition"] is None:
        raise ValidationFailed(
            {"definition": ["Required before an HTTP connector can be activated."]},
            "the connector cannot be activated yet",
        )
    return target, warnings


_ABSENT = object()


def _fields_set(connector: Connector, secret_fields: list[str]) -> list[str]:
    """What a new connector's audit event names: the fields it was given, never their values."""
    fields = ["name", *(f"config.{key}" for key in connector.config)]
    fields += [f"auth.{name}" for name in secret_fields]
    fields += ["tags"] * bool(connector.tags) + ["definition"] * bool(connector.definition)
    return fields


def _changed_fields(
    connector: Connector, edited: dict[str, Any], secret_fields: list[str], target: ConnectorStatus
) -> list[str]:
    """What the audit event of an edit names: the fields that changed (a config setting by its
    top-level key), never a value; a secret only by name."""
    old_config, new_config = connector.config or {}, edited["config"] or {}
    fields = [
        f"config.{key}"
        for key in old_config.keys() | new_config.keys()
        if old_config.get(key, _ABSENT) != new_config.get(key, _ABSENT)
    ]
    fields += [f"auth.{name}" for name in secret_fields]
    fields += [
        field
        for field in ("name", "tags", "definition")
        if edited[field] != getattr(connector, field)
    ]
    return fields + ["status"] * (target.value != connector.status)


async def edit(
    scope: WorkspaceScope,
    box: SecretBox,
    connector_id: uuid.UUID,
    body: ConnectorPatch,
) -> ConnectorRead:
    """PUT or PATCH a connector. Raises NotFound, ValidationFailed (400), Conflict (409).

    Everything is checked before anything changes, so a refused edit leaves the row untouched.
    """
    connector = await _get(scope, connector_id, for_update=True)
    entry = effective_entry(connector.catalog, connector.definition)
    sent = body.model_dump(exclude_unset=True)
    if errors := _edit_errors(entry, sent, body):
        raise ValidationFailed(errors)

    def kept(field: str) -> Any:  # what the body sets, else what is stored
        return sent[field] if sent.get(field) is not None else getattr(connector, field)

    auth, secret_fields = merge_secrets(
        box, tenant_id=scope.tenant_id, table=TABLE, row_id=connector.id,
        stored=connector.auth, incoming=sent.get("auth"),
    )  # fmt: skip
    edited = {
        "name": kept("name"), "config": kept("config"), "tags": kept("tags"), "auth": auth,
        "definition": (
            _stored_definition(body.definition) if "definition" in sent else connector.definition
        ),
    }  # fmt: skip
    target, warnings = _target_status(entry, connector, sent, edited)
    if edited["name"] != connector.name and await ConnectorRepository(scope).by_name(
        edited["name"]
    ):
        raise Conflict(f"a connector named {edited['name']!r} already exists in this workspace")

    changed = _changed_fields(connector, edited, secret_fields, target)
    if target.value != connector.status:
        connector.status_reason = "set by hand" if target == ConnectorStatus.error else None
    for field, value in edited.items():
        setattr(connector, field, value)
    if secret_fields:  # other credentials may sign in as someone else: test them again
        connector.account = None
    if {"access_token", "refresh_token"} & set(secret_fields):
        # Tokens pasted by hand replace a connected grant (a dead one too): its facts go, and
        # the pasted `expires_at` (if any) says when the new token ends.
        connector.oauth, connector.token_expires_at = None, None
    previous = connector.status
    connector.status = target.value
    await webhooks.connector_status_changed(scope, connector, previous)
    if changed:
        ConnectorRepository(scope).touch(connector)
        await _flush_checking_name(scope, connector.name)
        audit.record(
            scope, "connector.updated", "connector", connector.id,
            object_name=connector.name, fields=changed,
        )  # fmt: skip
    return to_read(connector, warnings, box=box)


async def retag(
    scope: WorkspaceScope,
    box: SecretBox,
    connector_id: uuid.UUID,
    *,
    add: tuple[str, ...] = (),
    remove: tuple[str, ...] = (),
) -> ConnectorRead:
    """Add and remove tags, as an edit of `tags` (same rules, same audit). Raises NotFound,
    ValidationFailed (more tags than a connector may have)."""
    connector = await _get(scope, connector_id, for_update=True)  # no edit lost in between
    tags = [t for t in connector.tags if t not in remove] + [
        t for t in add if t not in connector.tags and t not in remove
    ]
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(
            {"tags": [f"A connector has at most {MAX_TAGS} tags."]}, "too many tags"
        )
    return await edit(scope, box, connector_id, ConnectorPatch(tags=tags))


async def _refuse_if_destination(scope: WorkspaceScope, connector: Connector) -> None:
    """A target in use stays: deleting it would silently move where its sources load (the
    foreign key sets their pick to none, the workspace falls back to the built-in warehouse).
    Raises Conflict naming its uses."""
    if connector.catalog.kind != "target":
        return
    is_default, sources = await ConnectorRepository(scope).destination_uses(connector.id)
    uses = ["as the workspace's destination"] * is_default
    uses += [f"by sources: {', '.join(sources)}"] * bool(sources)
    if uses:
        raise Conflict(
            f"target {connector.name!r} is in use {' and '.join(uses)}; "
            "pick another destination first"
        )


async def delete(scope: WorkspaceScope, connector_id: uuid.UUID) -> None:
    """Hard delete. Raises NotFound (also for another workspace's connector), Conflict (a
    target still in use as a destination)."""
    connector = await _get(scope, connector_id, for_update=True)
    await _refuse_if_destination(scope, connector)
    await ConnectorRepository(scope).remove(connector)
    audit.record(
        scope, "connector.deleted", "connector", connector_id, object_name=connector.name, fields=[]
    )


async def search(
    scope: WorkspaceScope,
    *,
    status: str | None = None,
    catalog_key: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = 50,
    box: SecretBox | None = None,
) -> Page[ConnectorRead]:
    """With the box, non-secret auth fields are shown in clear."""
    found = await ConnectorRepository(scope).search(
        status=status,
        catalog_key=catalog_key,
        tag=tag,
        search=search,
        page=page,
        page_size=page_size,
    )
    return Page(
        items=[to_read(c, box=box) for c in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


async def publish_targets(scope: WorkspaceScope) -> list[PublishTarget]:
    """The workspace's active publisher connectors, for a content broadcaster to offer."""
    return [
        PublishTarget(
            id=c.id,
            name=c.name,
            catalog_key=c.catalog.key,
            capabilities=c.catalog.capabilities,
            account=c.account,
            ready=c.account is not None and bool((c.catalog.publishing or {}).get("available")),
        )
        for c in await ConnectorRepository(scope).active_of_kind("publisher")
    ]
