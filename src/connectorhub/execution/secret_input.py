"""Input values the input schema marks secret (`writeOnly`, or `format: password`) at any depth —
inside objects and arrays — are masked in everything stored and shown, and sealed one by one
(keyed by their JSON Pointer) for the worker, which puts them back to run.

Only the schema's structure is followed (properties, patternProperties, additionalProperties,
unevaluatedProperties, dependentSchemas, items, prefixItems, additionalItems, unevaluatedItems,
contains, allOf/anyOf/oneOf, if/then/else, local $refs): the input is a JSON value, and whatever
a combinator may make secret is treated as secret."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

from connectorhub.kit.crypto import DecryptionError, SecretBox
from connectorhub.kit.sealing import MASK, SecretsUnreadable, associated_data

Path = tuple[str | int, ...]
# Keys of the same sealed column that hold a finished step's extracted values, not an input.
STEP_PREFIX = "#step/"
_MAX_DEPTH = 64
_COMBINATORS = ("allOf", "anyOf", "oneOf")


def _is_secret(schema: dict[str, Any]) -> bool:
    return schema.get("writeOnly") is True or schema.get("format") == "password"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """A local `$ref` (`#/$defs/x`, `#/definitions/x`) followed; anything else as it is."""
    for _ in range(_MAX_DEPTH):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return schema
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def secret_paths(schema: dict[str, Any], instance: Any) -> list[Path]:
    """Where `instance` holds values `schema` marks secret, outermost first (a secret object is
    one path, not one per field inside it). The root itself is never one path: a secret root
    makes each of its top-level fields secret."""
    found: set[Path] = set()
    _walk(schema, instance, (), schema, found, 0)
    if () in found and isinstance(instance, dict):
        found = {(key,) for key in instance}
    found.discard(())
    kept: list[Path] = []
    for path in sorted(found, key=len):
        if not any(path[: len(outer)] == outer for outer in kept):
            kept.append(path)
    return kept


def _walk(schema: Any, value: Any, path: Path, root: dict, found: set[Path], depth: int) -> None:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return
    schema = _resolve(schema, root)
    if _is_secret(schema):
        found.add(path)
        return
    subschemas = [s for key in _COMBINATORS for s in (schema.get(key) or [])]
    subschemas += [schema[key] for key in ("then", "else") if key in schema]
    dependent = schema.get("dependentSchemas")
    if isinstance(dependent, dict) and isinstance(value, dict):
        subschemas += [sub for key, sub in dependent.items() if key in value]
    for sub in subschemas:
        _walk(sub, value, path, root, found, depth + 1)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        patterns = schema.get("patternProperties") or {}
        extra = schema.get("additionalProperties")
        if not isinstance(extra, dict):
            extra = schema.get("unevaluatedProperties")
        for key, item in value.items():
            matched = key in properties
            if matched:
                _walk(properties[key], item, (*path, key), root, found, depth + 1)
            for pattern, sub in patterns.items():
                try:
                    hit = re.search(pattern, key) is not None
                except re.error:
                    hit = False
                if hit:
                    matched = True
                    _walk(sub, item, (*path, key), root, found, depth + 1)
            if not matched and isinstance(extra, dict):
                _walk(extra, item, (*path, key), root, found, depth + 1)
    elif isinstance(value, list):
        prefix = schema.get("prefixItems") or []
        items = schema.get("items")
        for index, item in enumerate(value):
            if index < len(prefix):
                sub = prefix[index]
            elif isinstance(items, list):  # draft 4 tuples
                sub = items[index] if index < len(items) else schema.get("additionalItems")
            else:
                sub = items
            if not isinstance(sub, dict):
                sub = schema.get("unevaluatedItems")
            _walk(sub, item, (*path, index), root, found, depth + 1)
            # `contains` may be what any item matches: one it would make secret is secret.
            _walk(schema.get("contains"), item, (*path, index), root, found, depth + 1)


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
