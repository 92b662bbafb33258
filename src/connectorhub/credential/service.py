"""Workspace API credential rules: create, edit, delete (not while in use), and hand them to runs.

Values are sealed per field like connector auth and never returned; a run gets them only for the
hosts the credential allows (the runner enforces that on every request and redirect).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from connectorhub.audit import service as audit
from connectorhub.audit.service import SECRET_CHANGED
from connectorhub.catalog.repository import CatalogRepository
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.credential.models import KIND_FIELDS, CredentialKind, WorkspaceApiCredential
from connectorhub.credential.repository import WorkspaceCredentialRepository
from connectorhub.credential.schemas import (
    CredentialCreate,
    CredentialList,
    CredentialPatch,
    CredentialRead,
)
from connectorhub.definition.values import WorkspaceCredential
from connectorhub.exceptions import Conflict, NotFound, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import masked, merge_secrets, open_secrets

TABLE = WorkspaceApiCredential.__tablename__


def to_read(credential: WorkspaceApiCredential) -> CredentialRead:
    return CredentialRead(
        id=credential.id,
        name=credential.name,
        kind=CredentialKind(credential.kind),
        description=credential.description,
        allowed_hosts=credential.allowed_hosts,
        values=masked(credential.secret),
        reference=f"{{{{workspace.{credential.name}}}}}",
        provider=credential.provider,
        oauth={k: v for k, v in credential.oauth.items() if k != "account"}
        if credential.oauth
        else None,
        last_used_at=credential.last_used_at,
        created_at=credential.created_at,
        updated_at=credential.updated_at,
    )


def _field_errors(
    kind: CredentialKind, present: Iterable[str], *, connectable: bool = False
) -> dict[str, list[str]]:
    """`connectable`: an oauth2 credential with a provider, whose tokens Connect brings."""
    required, optional = KIND_FIELDS[kind]
    present = set(present)
    if connectable:
        required, optional = (), (*required, *optional)
    errors = {f"values.{name}": ["Required."] for name in required if name not in present}
    for name in sorted(present - set(required) - set(optional)):
        allowed = ", ".join((*required, *optional))
        errors[f"values.{name}"] = [f"A {kind.value} credential has no such field ({allowed})."]
    return errors


async def _get(scope: WorkspaceScope, credential_id: uuid.UUID) -> WorkspaceApiCredential:
    credential = await WorkspaceCredentialRepository(scope).get(credential_id)
    if credential is None:
        raise NotFound("credential not found")
    return credential


async def _flush_checking_name(scope: WorkspaceScope, name: str) -> None:
    try:
        async with scope.session.begin_nested():
            await scope.session.flush()
    except IntegrityError as exc:  # a concurrent request took the name
        raise Conflict(f"a credential named {name!r} already exists in this workspace") from exc


async def create(scope: WorkspaceScope, box: SecretBox, body: CredentialCreate) -> CredentialRead:
    """Raises ValidationFailed (fields the kind needs), Conflict (name taken)."""
    values = {k: v for k, v in body.values.items() if v != ""}
    if body.provider is not None:
        entry = await CatalogRepository(scope.session).by_key(body.provider)
        if body.kind != CredentialKind.oauth2 or entry is None or not entry.oauth:
            raise ValidationFailed({"provider": [
                "Only an oauth2 credential names a provider, and it must be a catalog entry "
                "with an OAuth block."]})  # fmt: skip
    if errors := _field_errors(body.kind, values, connectable=body.provider is not None):
        raise ValidationFailed(errors)
    repository = WorkspaceCredentialRepository(scope)
    if await repository.by_name(body.name):
        raise Conflict(f"a credential named {body.name!r} already exists in this workspace")
    credential = WorkspaceApiCredential(
        id=uuid.uuid4(),
        name=body.name,
        kind=body.kind.value,
        description=body.description,
        allowed_hosts=list(dict.fromkeys(body.allowed_hosts)),
        provider=body.provider,
    )
    credential.secret, changed = merge_secrets(
        box, tenant_id=scope.tenant_id, table=TABLE, row_id=credential.id,
        stored={}, incoming=values,
    )  # fmt: skip
    repository.add(credential)
    await _flush_checking_name(scope, body.name)
    audit.record(
        scope, "credential.created", "credential", credential.id,
        {"name": body.name, "kind": body.kind.value, "allowed_hosts": credential.allowed_hosts,
         "values": dict.fromkeys(changed, SECRET_CHANGED)},
    )  # fmt: skip
    return to_read(credential)


async def update(
    scope: WorkspaceScope, box: SecretBox, credential_id: uuid.UUID, body: CredentialPatch
) -> CredentialRead:
    """Raises NotFound, ValidationFailed (a field the kind needs would be gone)."""
    credential = await _get(scope, credential_id)
    changes: dict[str, Any] = {}
    if body.values is not None:
        secret, changed = merge_secrets(
            box, tenant_id=scope.tenant_id, table=TABLE, row_id=credential.id,
            stored=credential.secret, incoming=body.values,
        )  # fmt: skip
        connectable = credential.provider is not None
        if errors := _field_errors(
            CredentialKind(credential.kind), secret, connectable=connectable
        ):
            raise ValidationFailed(errors)
        if changed:
            credential.secret = secret
            changes["values"] = dict.fromkeys(changed, SECRET_CHANGED)
            if {"access_token", "refresh_token"} & set(changed):  # a pasted grant replaces
                credential.oauth, credential.token_expires_at = None, None
    if body.allowed_hosts is not None:
        hosts = list(dict.fromkeys(body.allowed_hosts))
        if hosts != credential.allowed_hosts:
            changes["allowed_hosts"] = [credential.allowed_hosts, hosts]
            credential.allowed_hosts = hosts
    if body.description is not None and body.description != credential.description:
        changes["description"] = "(changed)"
        credential.description = body.description
    if changes:
        WorkspaceCredentialRepository(scope).touch(credential)
        await scope.session.flush()
        audit.record(scope, "credential.updated", "credential", credential.id, changes)
    return to_read(credential)


async def delete(scope: WorkspaceScope, credential_id: uuid.UUID) -> None:
    """Raises NotFound; Conflict while a connector's definition still uses it."""
    credential = await _get(scope, credential_id)
    users = await ConnectorRepository(scope).names_using_credential(credential.name)
    if users:
        raise Conflict(
            f"credential {credential.name!r} is used by {', '.join(sorted(users))}: "
            "remove it from their definitions first"
        )
    await WorkspaceCredentialRepository(scope).remove(credential)
    audit.record(
        scope, "credential.deleted", "credential", credential_id, {"name": credential.name}
    )


async def read(scope: WorkspaceScope, credential_id: uuid.UUID) -> CredentialRead:
    return to_read(await _get(scope, credential_id))


async def listing(scope: WorkspaceScope) -> CredentialList:
    rows = await WorkspaceCredentialRepository(scope).listing()
    return CredentialList(items=[to_read(row) for row in rows], total=len(rows))


def _run_value(kind: CredentialKind, values: dict[str, str]) -> Any:
    if kind == CredentialKind.basic:
        return {"username": values["username"], "password": values["password"]}
    if kind == CredentialKind.oauth2:
        return values.get("access_token", "")  # empty until Connect brings one
    return values[KIND_FIELDS[kind][0][0]]  # the token, key or access token itself


async def for_run(
    scope: WorkspaceScope, box: SecretBox, names: Iterable[str]
) -> tuple[dict[str, WorkspaceCredential], list[str]]:
    """The named credentials opened for a run (marked used now), and the names that are missing."""
    names = sorted(set(names))
    if not names:
        return {}, []
    repository = WorkspaceCredentialRepository(scope)
    rows = await repository.by_names(names)
    found = {
        row.name: WorkspaceCredential(
            value=_run_value(
                CredentialKind(row.kind),
                open_secrets(
                    box, tenant_id=scope.tenant_id, table=TABLE, row_id=row.id, stored=row.secret
                ),
            ),
            allowed_hosts=list(row.allowed_hosts),
            credential_id=row.id,
            renewable=row.kind == CredentialKind.oauth2.value and row.provider is not None,
        )
        for row in rows
    }
    await repository.mark_used([row.id for row in rows], utcnow())
    return found, [name for name in names if name not in found]
