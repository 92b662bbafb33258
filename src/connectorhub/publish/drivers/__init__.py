"""One module per provider behind one small interface (base.py); `driver_for` picks it by the
connector's catalog key."""

from __future__ import annotations

from typing import Any

import aiohttp

from connectorhub.publish.drivers.base import Publisher
from connectorhub.publish.drivers.wordpress import WordPress

DRIVERS: dict[str, type] = {"wordpress": WordPress}


def driver_for(
    catalog_key: str, http: aiohttp.ClientSession, config: dict[str, Any],
    secrets: dict[str, Any], *, media_limit_bytes: int,
) -> Publisher | None:  # fmt: skip
    """The driver for a catalog entry's key, or None while ConnectorHub has none for it."""
    driver = DRIVERS.get(catalog_key)
    return driver(http, config, secrets, media_limit_bytes=media_limit_bytes) if driver else None
