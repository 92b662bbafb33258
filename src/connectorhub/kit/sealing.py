"""Per-field sealing of a row's secrets, and the mask that stands in for them in every response.

Each field is sealed separately with the row's identity `tenant/table/row/field` as associated
data, so a ciphertext copied into another workspace, row or field fails to open.
"""

from __future__ import annotations

import uuid
from typing import Any

from connectorhub.kit.crypto import DecryptionError, SecretBox

MASK = "********"


class SecretsUnreadable(DecryptionError):
    """Sealed fields of a row that no configured key opens (a flipped byte, a value copied from
    another row, a retired key): a permanent state until someone re-enters them."""

    def __init__(self, table: str, row_id: uuid.UUID | str, fields: list[str]):
        self.table, self.row_id, self.fields = table, str(row_id), sorted(fields)
        super().__init__(f"{', '.join(self.fields)} of {table} {row_id} cannot be decrypted")


def associated_data(tenant_id: str, table: str, row_id: uuid.UUID | str, field: str) -> str:
    return f"{tenant_id}/{table}/{row_id}/{field}"


def merge_secrets(
    box: SecretBox,
    *,
    tenant_id: str,
    table: str,
    row_id: uuid.UUID,
    stored: dict[str, str],
    incoming: dict[str, Any] | None,
) -> tuple[dict[str, str], list[str]]:
    """Apply an update to sealed fields. Returns the new sealed dict and the names that changed.

    Per field: the mask (or the field left out) keeps the stored value; null or "" clears it;
    anything else is sealed as the new value.
    """
    result = dict(stored)
    changed: list[str] = []
    for field, value in (incoming or {}).items():
        if value == MASK:
            continue
        if value is None or value == "":
            if field in result:
                del result[field]
                changed.append(field)
            continue
        plaintext = value if isinstance(value, str) else str(value)
        result[field] = box.seal(plaintext, associated_data(tenant_id, table, row_id, field))
        changed.append(field)
    return result, changed


def open_secrets(
    box: SecretBox, *, tenant_id: str, table: str, row_id: uuid.UUID, stored: dict[str, str]
) -> dict[str, str]:
    """Plaintext values, for the drivers that must send them. Raises SecretsUnreadable naming
    every field that does not open."""
    opened, unreadable = {}, []
    for field, ciphertext in stored.items():
        try:
            opened[field] = box.open(ciphertext, associated_data(tenant_id, table, row_id, field))
        except DecryptionError:
            unreadable.append(field)
    if unreadable:
        raise SecretsUnreadable(table, row_id, unreadable)
    return opened


def reseal(
    box: SecretBox, *, tenant_id: str, table: str, row_id: uuid.UUID, stored: dict[str, str]
) -> dict[str, str] | None:
    """Re-seal every field under the active key; None when nothing needed it. Every field is
    opened either way, so a row no key opens is found (SecretsUnreadable names its fields)."""
    opened = open_secrets(box, tenant_id=tenant_id, table=table, row_id=row_id, stored=stored)
    if not any(box.needs_rotation(ciphertext) for ciphertext in stored.values()):
        return None
    return {
        field: box.seal(plaintext, associated_data(tenant_id, table, row_id, field))
        for field, plaintext in opened.items()
    }


def masked(stored: dict[str, str]) -> dict[str, str]:
    """What responses show: which fields are set, never their values."""
    return dict.fromkeys(sorted(stored), MASK)


def shown(
    box: SecretBox,
    *,
    tenant_id: str,
    table: str,
    row_id: uuid.UUID,
    stored: dict[str, str],
    clear_fields: set[str],
) -> dict[str, str]:
    """What responses show: set fields masked, except `clear_fields` (fields that are no
    secret, a username say), opened and shown as they are. One that does not open stays masked."""
    result = masked(stored)
    for field in sorted(clear_fields & stored.keys()):
        try:
            result[field] = box.open(
                stored[field], associated_data(tenant_id, table, row_id, field)
            )
        except DecryptionError:
            continue
    return result
