"""The line an installed connector's card says about its config (a site, an account label, a
host): values its catalog entry's schema shows in clear — never one it marks secret."""

from __future__ import annotations

import uuid
from typing import Any

from connectorhub.catalog import service as catalog_service
from connectorhub.connector import service
from connectorhub.connector.schemas import ConnectorRead
from connectorhub.kit.repository import Page, WorkspaceScope

MAX_VALUES = 3


def _is_secret(schema: dict[str, Any]) -> bool:
    return (
        schema.get("writeOnly") is True
        or schema.get("secret") is True
        or schema.get("format") == "password"
    )


def summary(config_schema: dict[str, Any], config: dict[str, Any]) -> str:
    """The required text and number fields, and any `…_label`, in the schema's order, as
    "https://blog.example.com · Blog"; a field the schema marks secret is never shown."""
    required = set(config_schema.get("required") or [])
    shown = []
    for name, field in (config_schema.get("properties") or {}).items():
        value = config.get(name)
        if not isinstance(field, dict) or _is_secret(field) or value in (None, ""):
            continue
        if field.get("type") not in ("string", "integer") or isinstance(value, (dict, list)):
            continue
        if name in required or name.endswith("_label"):
            shown.append(str(value))
    return " · ".join(dict.fromkeys(shown[:MAX_VALUES]))


async def installed_cards(
    scope: WorkspaceScope, *, status: str | None, search: str | None, page: int, page_size: int
) -> tuple[Page[ConnectorRead], dict[uuid.UUID, str]]:
    """A page of installed connectors and, by id, the summary line of each one's config."""
    found = await service.search(
        scope, status=status, search=search, page=page, page_size=page_size
    )
    entries = await catalog_service.search_entries(scope.session, None, None, None)
    schemas = {e.key: e.default_config_schema for e in entries}
    lines = {c.id: summary(schemas.get(c.catalog_key) or {}, c.config or {}) for c in found.items}
    return found, lines
