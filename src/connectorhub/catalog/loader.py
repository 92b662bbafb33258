"""Reads catalog entries from YAML files and checks them before anything is seeded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

ENTRIES_DIR = Path(__file__).parent / "entries"
ENTRY_SCHEMA_PATH = Path(__file__).parent / "entry.schema.json"

# Auth field names are fixed per auth type (SPEC §3); extra provider fields may be added.
REQUIRED_AUTH_FIELDS: dict[str, set[str]] = {
    "api_key": {"api_key"},
    "basic": {"username", "password"},
    "oauth": {"access_token"},
    "none": set(),
}
KNOWN_AUTH_FIELDS: dict[str, set[str]] = {
    "api_key": {"api_key"},
    "basic": {"username", "password"},
    "oauth": {"access_token", "refresh_token", "expires_at", "client_id", "client_secret"},
    "none": set(),
}


class CatalogFileError(ValueError):
    """A catalog file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedEntry:
    data: dict[str, Any]
    source: Path

    @property
    def key(self) -> str:
        return self.data["key"]

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def entry_schema() -> dict[str, Any]:
    return json.loads(ENTRY_SCHEMA_PATH.read_text())


def check_entry(data: Any, source: Path) -> None:
    """Raise CatalogFileError unless `data` is a well-formed, self-consistent entry."""
    errors = sorted(Draft202012Validator(entry_schema()).iter_errors(data), key=str)
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise CatalogFileError(f"{source.name}: {where}: {first.message}")
    try:
        Draft202012Validator.check_schema(data["default_config_schema"])
    except SchemaError as exc:
        raise CatalogFileError(f"{source.name}: default_config_schema: {exc.message}") from exc
    names = [field["name"] for field in data["auth_fields"]]
    if len(names) != len(set(names)):
        raise CatalogFileError(f"{source.name}: auth_fields: a field name appears twice")
    missing = REQUIRED_AUTH_FIELDS[data["auth_type"]] - set(names)
    if missing:
        raise CatalogFileError(
            f"{source.name}: auth_type {data['auth_type']} needs auth fields {sorted(missing)}"
        )
    required_in_schema = set(data["default_config_schema"].get("required", []))
    declared = set(data["default_config_schema"].get("properties", {}))
    if required_in_schema - declared:
        raise CatalogFileError(
            f"{source.name}: default_config_schema requires undeclared "
            f"{sorted(required_in_schema - declared)}"
        )
    if data["kind"] in ("source", "target") and not data.get("plugin"):
        raise CatalogFileError(f"{source.name}: a {data['kind']} entry must name its Singer plugin")


def load_entries(extra_dir: Path | None = None) -> list[LoadedEntry]:
    """Every built-in entry, then the operator's extra directory (which may override a key)."""
    by_key: dict[str, LoadedEntry] = {}
    for directory in [ENTRIES_DIR, extra_dir]:
        if directory is None:
            continue
        if not directory.is_dir():
            raise CatalogFileError(f"catalog directory {directory} does not exist")
        seen_here: set[str] = set()
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise CatalogFileError(f"{path.name}: not valid YAML: {exc}") from exc
            check_entry(data, path)
            if data["key"] in seen_here:
                raise CatalogFileError(f"{path.name}: key {data['key']!r} is defined twice")
            seen_here.add(data["key"])
            by_key[data["key"]] = LoadedEntry(data=data, source=path)
    return list(by_key.values())
