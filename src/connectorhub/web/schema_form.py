"""Between HTML forms and JSON Schema: field names are JSON paths (`config.post_defaults.x`), so the
service's error map keys land on the inputs that caused them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectorhub.kit.secret_schema import secret_paths

FALSE_VALUES = {"", "false", "off", "0", "no"}


def _coerce(raw: str, kind: str | None) -> Any:
    """A typed value where the text allows; otherwise the text, so validation names the problem."""
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
    return raw


def _kind(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in schema:
        return "string"
    return kind


def is_string_map(schema: Mapping[str, Any]) -> bool:
    """A free-form object of string values (HTTP headers, say): edited as `Name: value` lines."""
    extra = schema.get("additionalProperties")
    return (
        "properties" not in schema and isinstance(extra, Mapping) and extra.get("type") == "string"
    )


def form_editable(schema: Mapping[str, Any]) -> set[str]:
    """Top-level properties the generated form renders; the rest must be carried over on save."""
    editable = set()
    for name, prop in (schema.get("properties") or {}).items():
        if _kind(prop) != "object" or "properties" in prop or is_string_map(prop):
            editable.add(name)
    return editable


def form_to_instance(
    schema: Mapping[str, Any], form: Mapping[str, Sequence[str]], prefix: str
) -> dict[str, Any]:
    """Build the object `schema` describes from form fields named `<prefix>.<property>…`.

    Empty optional fields are left out (the schema's defaults apply later); arrays of scalars come
    from a textarea, one item per line; booleans from a checkbox paired with a hidden "false".
    """
    result: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}"
        kind = _kind(prop)
        if kind == "object" and "properties" in prop:
            nested = form_to_instance(prop, form, path)
            if nested:
                result[name] = nested
            continue
        values = form.get(path)
        if values is None:
            continue
        if kind == "boolean":
            result[name] = values[-1].strip().lower() not in FALSE_VALUES
        elif kind == "array":
            item_kind = _kind(prop.get("items") or {})
            lines = [line.strip() for value in values for line in value.splitlines()]
            items = [_coerce(line, item_kind) for line in lines if line]
            if items:
                result[name] = items
        elif kind == "object" and is_string_map(prop):
            pairs = [
                line.split(":", 1)
                for value in values
                for line in value.splitlines()
                if line.strip()
            ]
            mapping = {key.strip(): (rest[0].strip() if rest else "") for key, *rest in pairs}
            if mapping:
                result[name] = mapping
        elif kind == "object":
            continue  # other free-form objects are not form fields (see form_editable)
        else:
            raw = values[-1].strip()
            if raw != "":
                result[name] = _coerce(raw, kind)
    return result


def form_probe(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An instance with a placeholder in every field the generated form renders (one item for an
    array, one entry for a string map), so a schema walk can tell which fields hold secrets."""
    probe: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        kind = _kind(prop)
        if kind == "object" and "properties" in prop:
            probe[name] = form_probe(prop)
        elif kind == "object" and is_string_map(prop):
            probe[name] = {"name": "value"}
        elif kind == "array":
            probe[name] = ["item"]
        elif kind != "object":
            probe[name] = "value"
    return probe


def field_names_touching(
    schema: Mapping[str, Any], prefix: str, paths: Sequence[Sequence[str | int]]
) -> set[str]:
    """The form's field names (`<prefix>.a.b`) that lie within one of `paths` or hold one."""
    names: set[str] = set()

    def visit(sub: Mapping[str, Any], here: tuple[str, ...]) -> None:
        for name, prop in (sub.get("properties") or {}).items():
            path = (*here, name)
            if any(tuple(p[: len(path)]) == path or path[: len(p)] == tuple(p) for p in paths):
                names.add(".".join((prefix, *path)))
            if _kind(prop) == "object" and "properties" in prop:
                visit(prop, path)

    visit(schema, ())
    return names


def kept_where_missing(
    sent: dict[str, Any], stored: Mapping[str, Any], paths: Sequence[Sequence[str | int]]
) -> dict[str, Any]:
    """`sent` with the stored value put back at each of `paths` it lacks: a secret field the form
    shows empty (never filled) and the user left empty keeps its value."""
    result = dict(sent)
    for path in paths:
        old: Any = stored
        for part in path:
            old = old.get(part) if isinstance(old, Mapping) else None
        if old is None or not all(isinstance(part, str) for part in path):
            continue
        target = result
        for part in path[:-1]:
            inner = target.get(part)
            target[part] = dict(inner) if isinstance(inner, Mapping) else {}
            target = target[part]
        target.setdefault(str(path[-1]), old)
    return result


def editable_secrets(
    form: Mapping[str, Sequence[str]], field_names: Sequence[str]
) -> dict[str, str]:
    """Auth values sent by the form. A field that was not sent, or sent empty, keeps its value."""
    return {
        name: form[f"auth.{name}"][-1]
        for name in field_names
        if f"auth.{name}" in form and form[f"auth.{name}"][-1] != ""
    }


def form_secrets(schema: dict[str, Any], prefix: str) -> set[str]:
    """Names of the generated form's fields (`<prefix>.a.b`) that hold or lie within a secret:
    rendered as password inputs and never filled with what was typed."""
    return field_names_touching(schema, prefix, secret_paths(schema, form_probe(schema)))
