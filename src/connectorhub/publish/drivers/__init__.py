"""One module per provider behind one small interface (base.py); `driver_for` picks it by the
connector's catalog key."""

from __future__ import annotations

from typing import Any

from connectorhub.config import Settings
from connectorhub.kit.outbound import Outbound
from connectorhub.publish.drivers.base import Publisher
from connectorhub.publish.drivers.linkedin import LinkedIn
from connectorhub.publish.drivers.medium import Medium
from connectorhub.publish.drivers.wordpress import WordPress
from connectorhub.publish.drivers.x import X

DRIVERS: dict[str, type] = {
    "wordpress": WordPress,
    "twitter": X,
    "linkedin": LinkedIn,
    "medium": Medium,
}


def driver_for(
    catalog_key: str, http: Outbound, config: dict[str, Any],
    secrets: dict[str, Any], settings: Settings, *, account: dict[str, Any] | None = None,
) -> Publisher | None:  # fmt: skip
    """The driver for a catalog entry's key, or None while ConnectorHub has none for it.
    `account`: who the connector's last test signed in as (spares a "who am I" per post)."""
    driver = DRIVERS.get(catalog_key)
    return driver(http, config, secrets, settings, account=account) if driver else None
