"""Input values the input schema marks secret (`writeOnly`, or `format: password`) at any depth
are masked in everything stored and shown, and sealed one by one (keyed by their JSON Pointer)
for the worker, which puts them back to run. Which values are secret: kit/secret_schema.py."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from connectorhub.kit.crypto import DecryptionError, SecretBox
from connectorhub.kit.sealing import MASK, SecretsUnreadable, associated_data
from connectorhub.kit.secret_schema import Path

# Keys of the same sealed column that hold a finished step's extracted values, not an input.
STEP_PREFIX = "#step/"


def pointer(path: Path) -> str:
    """RFC 6901: `("nested", "otp")` → `/nested/otp`."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def parse_pointer(text: str) -> tuple[str, ...]:
    """A stored key back to its parts. Keys without a leading `/` are top-level names (how
    rows from before nested secrets were sealed)."""
    if not text.startswith("/"):
        return (text,)
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/"))


def value_at(instance: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) at `path`; list indexes may come as text (from a pointer)."""
    current = instance
    for part in path:
        if isinstance(current, dict) and str(part) in current:
            current = current[str(part)]
        elif isinstance(current, list) and str(part).isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def _set_at(instance: Any, path: tuple[str | int, ...], value: Any) -> list[str | int]:
    """Put `value` at `path` (which must exist); returns the path with list indexes as ints."""
    current, typed = instance, []
    for depth, part in enumerate(path):
        key: str | int = int(part) if isinstance(current, list) else str(part)
        typed.append(key)
        if depth == len(path) - 1:
            current[key] = value
        else:
            current = current[key]
    return typed


def masked(run_input: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """A copy of the input with every secret value replaced by the mask."""
    shown = copy.deepcopy(run_input)
    for path in paths:
        _set_at(shown, path, MASK)
    return shown


def _aad(tenant_id: str, table: str, execution_id: uuid.UUID, key: str) -> str:
    return associated_data(tenant_id, table, execution_id, key)


def seal(
    box: SecretBox, tenant_id: str, table: str, execution_id: uuid.UUID,
    run_input: dict[str, Any], paths: list[Path],
) -> dict[str, str]:  # fmt: skip
    """Each secret value sealed under its pointer, bound to this row and field."""
    sealed = {}
    for path in paths:
        key = pointer(path)
        _, value = value_at(run_input, path)
        sealed[key] = box.seal(json.dumps(value), _aad(tenant_id, table, execution_id, key))
    return sealed


def unsealed(
    box: SecretBox, tenant_id: str, table: str, execution_id: uuid.UUID,
    shown: dict[str, Any], sealed: dict[str, str],
) -> tuple[dict[str, Any], set[Path]]:  # fmt: skip
    """The full input to run (every sealed value back in its place) and the secret paths.
    Raises SecretsUnreadable naming the pointers that do not open."""
    run_input = copy.deepcopy(shown)
    paths: set[Path] = set()
    unreadable = []
    for key, ciphertext in sealed.items():
        if key.startswith(STEP_PREFIX):
            continue
        try:
            value = json.loads(box.open(ciphertext, _aad(tenant_id, table, execution_id, key)))
        except DecryptionError:
            unreadable.append(key)
            continue
        path = parse_pointer(key)
        if not value_at(run_input, path)[0]:
            continue  # the shown input lost that place: nothing to put back
        paths.add(tuple(_set_at(run_input, path, value)))
    if unreadable:
        raise SecretsUnreadable(table, execution_id, unreadable)
    return run_input, paths


# --- Checkpoints: each finished step's extracted values, for a later attempt to resume from ---


def step_key(index: int) -> str:
    return f"{STEP_PREFIX}{index}"


def seal_step(
    box: SecretBox, tenant_id: str, table: str, execution_id: uuid.UUID, index: int,
    extracted: dict[str, Any],
) -> tuple[str, str]:  # fmt: skip
    key = step_key(index)
    return key, box.seal(json.dumps(extracted), _aad(tenant_id, table, execution_id, key))


def without_steps(sealed: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sealed.items() if not k.startswith(STEP_PREFIX)}


def opened_steps(
    box: SecretBox, tenant_id: str, table: str, execution_id: uuid.UUID,
    sealed: dict[str, str], count: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """The extracted values of steps 0..count-1, in order, as far as each was checkpointed
    (the list stops at the first step without one). Raises SecretsUnreadable."""
    opened = []
    for index in range(count):
        key = step_key(index)
        if key not in sealed:
            break
        try:
            text = box.open(sealed[key], _aad(tenant_id, table, execution_id, key))
        except DecryptionError:
            raise SecretsUnreadable(table, execution_id, [key]) from None
        opened.append(json.loads(text))
    return opened
