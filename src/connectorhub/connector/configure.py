"""What the Configure form shows of a connector: its settings, its catalog entry, and in clear
the auth fields the entry marks `secret: false` (a username). A secret field is never opened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import service
from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.schemas import ConnectorRead
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import SecretsUnreadable, open_secrets


@dataclass(frozen=True)
class ConfigureView:
    connector: ConnectorRead
    entry: CatalogEntry
    auth_in_clear: dict[str, str]


def clear_fields(entry: CatalogEntry) -> set[str]:
    """Auth fields shown as typed: only those the entry says are not secret."""
    return {f["name"] for f in entry.auth_fields if f.get("secret") is False}


async def for_configure(
    scope: WorkspaceScope, box: SecretBox, connector_id: uuid.UUID
) -> ConfigureView:
    """Raises NotFound for another workspace's or a missing connector. A non-secret value no
    key opens is left out (the form then shows it as set, to be typed again)."""
    connector = await service.read(scope, connector_id)
    entry = await catalog_service.entry_by_id_or_key(scope.session, connector.catalog_key)
    row = await ConnectorRepository(scope).get(connector_id)
    wanted = clear_fields(entry)
    stored = {k: v for k, v in (row.auth if row else {}).items() if k in wanted}
    try:
        shown = open_secrets(
            box, tenant_id=scope.tenant_id, table=Connector.__tablename__,
            row_id=connector_id, stored=stored,
        )  # fmt: skip
    except SecretsUnreadable:
        shown = {}
    return ConfigureView(connector=connector, entry=entry, auth_in_clear=shown)
