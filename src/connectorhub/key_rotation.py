"""Key rotation: re-seal every stored secret (connector auth, workspace credentials, sealed
execution inputs, webhook signing secrets) under the active key, then retire the older keys' checks. It spans the
domains that keep sealed fields, so it lives beside them rather than in one of them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.unreadable import mark_unreadable
from connectorhub.credential.keys import verify_keys
from connectorhub.credential.repository import KeyCheckRepository, WorkspaceCredentialRepository
from connectorhub.db import UnitOfWork, WorkspaceScope
from connectorhub.execution.repository import ExecutionRepository
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import SealedColumnRepository
from connectorhub.kit.sealing import SecretsUnreadable, reseal
from connectorhub.webhook.repository import WebhookRepository

ACTOR = "key-rotation"

# Every table that keeps sealed fields.
SEALED_HOLDERS: list[type[SealedColumnRepository]] = [
    ConnectorRepository,
    WorkspaceCredentialRepository,
    ExecutionRepository,
    WebhookRepository,
]


@dataclass
class UnreadableRow:
    tenant_id: str
    table: str
    row_id: str
    fields: list[str]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.table}/{self.row_id} ({', '.join(self.fields)})"


@dataclass
class RotationReport:
    rows_resealed: int
    rows_seen: int
    retired_keys: list[str]
    # Older keys still sealing some row after the pass (written meanwhile by a process that does
    # not have the newest key yet): they are kept, and rotation should be run again.
    keys_still_in_use: dict[str, int]
    # Rows no configured key opens (a damaged or copied value): left as they are, reported; a
    # connector among them is put in error so its owners re-enter the credentials.
    unreadable: list[UnreadableRow] = field(default_factory=list)


async def rotate(work: UnitOfWork, box: SecretBox, batch: int = 200) -> RotationReport:
    """Re-seal every stored secret under the active key.

    Runs in many short transactions, each locking only its batch of rows (FOR UPDATE), so the
    service keeps working meanwhile. Safe to re-run; stops nowhere half-sealed.
    """
    async with work.transaction() as session:
        await verify_keys(session, box)
    tenants = await work.workspace_ids()
    report = RotationReport(rows_resealed=0, rows_seen=0, retired_keys=[], keys_still_in_use={})
    unreadable_ids: set[uuid.UUID] = set()
    for tenant_id, holder in itertools.product(tenants, SEALED_HOLDERS):
        after: uuid.UUID | None = None
        while True:
            async with work.workspace(tenant_id, ACTOR) as scope:
                rows = await holder(scope).with_secrets(after, batch)
                for row in rows:
                    report.rows_seen += 1
                    table, stored = holder.model.__tablename__, getattr(row, holder.sealed_column)
                    where = {"tenant_id": tenant_id, "table": table, "row_id": row.id}
                    try:
                        resealed = reseal(box, **where, stored=stored)
                    except SecretsUnreadable as error:
                        report.unreadable.append(
                            UnreadableRow(tenant_id, error.table, error.row_id, error.fields)
                        )
                        unreadable_ids.add(row.id)
                        if isinstance(row, Connector):
                            await mark_unreadable(scope, row, error)
                        # The fields that do open still move to the new key; the damaged ones
                        # are kept as they are (no key opens them, so none is needed for them).
                        readable = {k: v for k, v in stored.items() if k not in error.fields}
                        partial = reseal(box, **where, stored=readable)
                        resealed = None if partial is None else {**stored, **partial}
                    if resealed is not None:
                        setattr(row, holder.sealed_column, resealed)
                        report.rows_resealed += 1
            if len(rows) < batch:
                break
            after = rows[-1].id
    older = [k for k in box.keyring.key_ids if k != box.keyring.active_key_id]

    async def count_older(scope: WorkspaceScope) -> None:
        for key_id, holder in itertools.product(older, SEALED_HOLDERS):
            # A row no key opens does not keep its old key in use: nothing it holds needs one.
            if in_use := await holder(scope).count_sealed_with(key_id, unreadable_ids):
                report.keys_still_in_use[key_id] = report.keys_still_in_use.get(key_id, 0) + in_use

    await work.for_each_workspace(ACTOR, count_older)
    report.retired_keys = [k for k in older if k not in report.keys_still_in_use]
    async with work.transaction() as session:
        await KeyCheckRepository(session).remove(report.retired_keys)
    return report
