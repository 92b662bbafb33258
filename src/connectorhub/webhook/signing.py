"""How a delivery is signed (the README shows receivers how to check it)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-ConnectorHub-Timestamp"
SIGNATURE_HEADER = "X-ConnectorHub-Signature"
EVENT_HEADER = "X-ConnectorHub-Event"
DELIVERY_HEADER = "X-ConnectorHub-Delivery"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `timestamp + "." + body` under `secret`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
