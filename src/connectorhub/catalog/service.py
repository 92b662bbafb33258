"""Catalog rules: seeding from the YAML files, browsing, and config validation."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.catalog.custom_taps import custom_tap_row
from connectorhub.catalog.loader import load_entries
from connectorhub.catalog.models import CUSTOM_TAP_KEY, CatalogEntry
from connectorhub.catalog.repository import CatalogRepository
from connectorhub.exceptions import NotFound, ValidationFailed
from connectorhub.kit.schema_validation import error_map

log = logging.getLogger(__name__)

_ENTRY_COLUMNS = (
    "name", "description", "category", "icon", "auth_type", "kind", "capabilities",
    "default_config_schema", "auth_fields", "docs_url", "plugin", "publishing", "oauth",
)  # fmt: skip


@dataclass(frozen=True)
class SeedReport:
    created: list[str]
    updated: list[str]
    unchanged: list[str]


async def seed(session: AsyncSession, extra_dir: Path | None = None) -> SeedReport:
    """Upsert every catalog file by key. Re-running changes nothing; an edited file updates its row.

    Entries whose file disappeared are kept: installed connectors still point at them.
    """
    repository = CatalogRepository(session)
    existing = await repository.all_by_key()
    report = SeedReport(created=[], updated=[], unchanged=[])
    for loaded in load_entries(extra_dir):
        values: dict[str, Any] = {column: loaded.data.get(column) for column in _ENTRY_COLUMNS}
        row = existing.get(loaded.key)
        if row is None:
            repository.add(CatalogEntry(key=loaded.key, content_hash=loaded.content_hash, **values))
            report.created.append(loaded.key)
        elif row.content_hash != loaded.content_hash:
            for column, value in values.items():
                setattr(row, column, value)
            row.content_hash = loaded.content_hash
            report.updated.append(loaded.key)
        else:
            report.unchanged.append(loaded.key)
    if CUSTOM_TAP_KEY in existing:
        report.unchanged.append(CUSTOM_TAP_KEY)
    elif CUSTOM_TAP_KEY not in report.created:
        repository.add(custom_tap_row())  # taps from a meltano.yml point here (custom_taps.py)
        report.created.append(CUSTOM_TAP_KEY)
    await session.flush()
    if report.created or report.updated:
        log.info("catalog seeded: created=%s updated=%s", report.created, report.updated)
    return report


async def search_entries(
    session: AsyncSession, category: str | None, kind: str | None, search: str | None
) -> Sequence[CatalogEntry]:
    return await CatalogRepository(session).search(category, kind, search)


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def entry_by_id_or_key(session: AsyncSession, id_or_key: str) -> CatalogEntry:
    """Raises NotFound."""
    repository = CatalogRepository(session)
    entry_id = _parse_uuid(id_or_key)
    entry = await repository.by_id(entry_id) if entry_id else await repository.by_key(id_or_key)
    if entry is None:
        raise NotFound(f"no catalog entry {id_or_key!r}")
    return entry


def config_errors(entry: CatalogEntry, config: dict[str, Any]) -> dict[str, list[str]]:
    return error_map(config, entry.default_config_schema, prefix="config")


async def validate_config(session: AsyncSession, catalog_key: str, config: dict[str, Any]) -> None:
    """Raises NotFound for an unknown key, ValidationFailed (400 error map) for invalid config."""
    entry = await entry_by_id_or_key(session, catalog_key)
    errors = config_errors(entry, config)
    if errors:
        raise ValidationFailed(errors)


async def oauth_entries(session: AsyncSession) -> list[CatalogEntry]:
    """The entries that can be connected with OAuth, by name."""
    entries = (await CatalogRepository(session).all_by_key()).values()
    return sorted((e for e in entries if e.oauth), key=lambda e: e.name)
