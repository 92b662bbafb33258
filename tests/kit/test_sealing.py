"""What responses show of sealed fields: secrets masked, fields that are no secret in clear."""

from __future__ import annotations

import uuid

from connectorhub.kit.crypto import Keyring, SecretBox, generate_key
from connectorhub.kit.sealing import MASK, merge_secrets, shown

ROW = uuid.uuid4()


def _sealed(box: SecretBox, **values: str) -> dict[str, str]:
    sealed, _ = merge_secrets(
        box, tenant_id="acme", table="connectors", row_id=ROW, stored={}, incoming=values
    )
    return sealed


def test_only_the_clear_fields_are_opened():
    box = SecretBox(Keyring.parse(f"k1:{generate_key()}"))
    stored = _sealed(box, username="editor", password="app-password")
    assert shown(
        box, tenant_id="acme", table="connectors", row_id=ROW, stored=stored,
        clear_fields={"username", "not-set"},
    ) == {"password": MASK, "username": "editor"}  # fmt: skip
    assert shown(
        box, tenant_id="acme", table="connectors", row_id=ROW, stored=stored, clear_fields=set()
    ) == {"password": MASK, "username": MASK}


def test_a_clear_field_that_does_not_open_stays_masked():
    box = SecretBox(Keyring.parse(f"k1:{generate_key()}"))
    stored = _sealed(box, username="editor")
    # Sealed for another row: its associated data does not match.
    assert shown(
        box, tenant_id="acme", table="connectors", row_id=uuid.uuid4(), stored=stored,
        clear_fields={"username"},
    ) == {"username": MASK}  # fmt: skip
