"""What the Configure form shows of a connector: its settings, its catalog entry, and in clear
the auth fields the entry marks `secret: false` (a username). A secret field is never opened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.custom_taps import effective_entry
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import service
from connectorhub.connector.schemas import ConnectorRead
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import MASK


@dataclass(frozen=True)
class ConfigureView:
    connector: ConnectorRead
    entry: CatalogEntry
    auth_in_clear: dict[str, str]


async def for_configure(
    scope: WorkspaceScope, box: SecretBox, connector_id: uuid.UUID
) -> ConfigureView:
    """Raises NotFound for another workspace's or a missing connector. A non-secret value no
    key opens is left out (the form then shows it as set, to be typed again)."""
    connector = await service.read(scope, connector_id, box)  # non-secret fields in clear
    entry = effective_entry(
        await catalog_service.entry_by_id_or_key(scope.session, connector.catalog_key),
        connector.definition,
    )
    wanted = service.clear_auth_fields(entry.auth_fields)
    shown = {k: v for k, v in connector.auth.items() if k in wanted and v != MASK}
    return ConfigureView(connector=connector, entry=entry, auth_in_clear=shown)
