"""Where the encryption keys come from, how start-up proves they are right, and rotation.

Keys come from `CONNECTORHUB_SECRET_KEYS` (required in production). The embedded default may
instead keep them in `<data_dir>/secret.keys`, generated with mode 0600 on first run.

Every key that ever sealed data has a check row (a known plaintext sealed under it). At start-up a
stored check whose key is missing or does not open it stops the process: there is no plaintext
fallback. Rotation (key_rotation.py) re-seals every secret under the newest key, then drops the
older keys' checks, after which those keys may be removed from the configuration.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.config import Environment, Settings
from connectorhub.credential.repository import KeyCheckRepository
from connectorhub.exceptions import StartupRefused
from connectorhub.kit.crypto import DecryptionError, Keyring, KeyringError, SecretBox, generate_key

log = logging.getLogger(__name__)

CHECK_PLAINTEXT = "connectorhub-key-check"


def _check_aad(key_id: str) -> str:
    return f"key-check/{key_id}"


def new_key_entry() -> str:
    """`id:base64key` for a fresh key; ids sort by creation time."""
    return f"k{datetime.now(UTC):%Y%m%d%H%M%S}:{generate_key()}"


def load_keyring(settings: Settings, *, create: bool = True) -> Keyring:
    """The configured keyring. Raises StartupRefused with a message an operator can act on."""
    try:
        if settings.secret_keys:
            return Keyring.parse(settings.secret_keys)
        if settings.env == Environment.production:
            raise StartupRefused("CONNECTORHUB_SECRET_KEYS is required in production")
        path = settings.key_file
        if path.exists():
            if path.stat().st_mode & 0o077:
                log.warning("key file %s is readable by others; run: chmod 600 %s", path, path)
            return Keyring.parse(path.read_text())
        if not create:
            raise StartupRefused(f"no keys: set CONNECTORHUB_SECRET_KEYS or create {path}")
        return _create_key_file(path)
    except KeyringError as exc:
        raise StartupRefused(f"the configured encryption keys are malformed: {exc}") from exc


def _create_key_file(path: Path) -> Keyring:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry = new_key_entry()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(entry + "\n")
    log.warning(
        "generated a new encryption key in %s (mode 0600). Back it up: without it the stored "
        "credentials cannot be read.",
        path,
    )
    return Keyring.parse(entry)


def append_key_to_file(path: Path) -> str:
    """Add a new key (it becomes the active one) to the embedded key file; returns its id."""
    entry = new_key_entry()
    existing = Keyring.parse(path.read_text()) if path.exists() else None
    text = (existing.format().replace(",", "\n") + "\n" if existing else "") + entry + "\n"
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    temporary.replace(path)
    return entry.split(":", 1)[0]


async def verify_keys(session: AsyncSession, box: SecretBox) -> None:
    """Refuse to start when a stored key check has no key or the wrong key; register new keys."""
    checks = KeyCheckRepository(session)
    stored = await checks.by_key_id()
    for key_id, row in stored.items():
        if box.keyring.key(key_id) is None:
            raise StartupRefused(
                f"stored secrets were sealed with key {key_id!r}, which is not configured. "
                "Restore it in CONNECTORHUB_SECRET_KEYS (or the key file) and restart."
            )
        try:
            if box.open(row.check_value, _check_aad(key_id)) != CHECK_PLAINTEXT:
                raise DecryptionError("check value mismatch")
        except DecryptionError as exc:
            raise StartupRefused(
                f"the configured key {key_id!r} is not the key that sealed the stored secrets "
                "(its check value does not decrypt). Refusing to start."
            ) from exc
    for key_id in box.keyring.key_ids:
        if key_id not in stored:
            await checks.add_if_missing(
                key_id, box.seal(CHECK_PLAINTEXT, _check_aad(key_id), key_id=key_id)
            )
