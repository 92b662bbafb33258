"""Singer taps a workspace brought that the catalog lacks (from a meltano.yml).

The catalog is global, so such a tap is not a catalog row of its own: its connector points at
one shared entry (`CUSTOM_TAP_KEY`, added by seeding) and carries the plugin and its auth
fields in `definition["plugin"]` / `definition["auth_fields"]`. `effective_entry` gives the
entry a connector really has, for the rules that read the plugin and the auth fields."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.catalog.models import CUSTOM_TAP_KEY, CatalogEntry
from connectorhub.catalog.repository import CatalogRepository

_COLUMNS = (
    "id", "key", "name", "description", "category", "icon", "auth_type", "kind", "capabilities",
    "default_config_schema", "auth_fields", "docs_url", "plugin", "publishing", "oauth",
    "content_hash",
)  # fmt: skip


def effective_entry(entry: CatalogEntry, definition: dict[str, Any] | None) -> CatalogEntry:
    """The entry with this connector's own plugin and auth fields, when it brought them; a
    detached copy (never added to the session), else `entry` itself."""
    own = definition or {}
    if entry.key != CUSTOM_TAP_KEY or "plugin" not in own:
        return entry
    # Only what is loaded: a list page loads a few columns, and reading others would query.
    loaded = inspect(entry).dict
    values = {column: loaded[column] for column in _COLUMNS if column in loaded}
    values["plugin"] = own["plugin"]
    values["auth_fields"] = own.get("auth_fields") or []
    return CatalogEntry(**values)


def custom_tap_row() -> CatalogEntry:
    """The shared entry, as seeding adds it (it has no file: it names no package of its own)."""
    return CatalogEntry(
        key=CUSTOM_TAP_KEY,
        name="Singer tap (from a meltano.yml)",
        description="A Singer tap a workspace imported from its Meltano project; each "
        "connector names its own package.",
        category="Developer",
        icon="brand-python",
        auth_type="none",
        kind="source",
        capabilities={"streams": True, "incremental": True},
        default_config_schema={"type": "object"},
        auth_fields=[],
        docs_url="https://docs.meltano.com/concepts/project/",
        plugin=None,
        content_hash="",
    )


async def custom_tap_entry(session: AsyncSession) -> CatalogEntry:
    """The shared entry of workspace-brought taps (seeding adds it). Raises LookupError when
    the catalog was never seeded by this version."""
    entry = await CatalogRepository(session).by_key(CUSTOM_TAP_KEY)
    if entry is None:
        raise LookupError("the catalog lacks its custom-tap entry: run `connectorhub db upgrade`")
    return entry
