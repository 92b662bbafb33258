"""Where a JSON value holds what its JSON Schema marks secret (`writeOnly`, or `format:
password`), at any depth — inside objects and arrays. Used by executions (to mask and seal
secret inputs) and by the forms built from schemas (password inputs, never filled back).

Only the schema's structure is followed (properties, patternProperties, additionalProperties,
unevaluatedProperties, dependentSchemas, items, prefixItems, additionalItems, unevaluatedItems,
contains, allOf/anyOf/oneOf, if/then/else, local $refs): the value is a JSON value, and whatever
a combinator may make secret is treated as secret."""

from __future__ import annotations

import re
from typing import Any

Path = tuple[str | int, ...]
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
