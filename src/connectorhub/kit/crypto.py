"""AES-256-GCM sealing with a key id in every ciphertext and caller-chosen associated data.

Ciphertext format: `v1.<key_id>.<base64url(nonce || ciphertext+tag)>`. The key id says which key
opens it, so keys rotate without a flag day; the associated data (the row's identity) is not stored
but must be given again to open, so a ciphertext copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyringError(ValueError):
    """The configured keys are malformed."""


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong key, tampered data, or another row's value."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_key() -> str:
    """A fresh 256-bit key, base64url-encoded."""
    return _b64encode(AESGCM.generate_key(bit_length=256))


@dataclass(frozen=True)
class Keyring:
    """Keys by id, oldest first; the last one seals, all of them open."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Parse `id:base64key,id:base64key` (oldest first). Raises KeyringError."""
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in spec.replace("\n", ",").split(",")):
            if not part:
                continue
            key_id, sep, encoded = part.partition(":")
            if not sep or not KEY_ID_PATTERN.match(key_id):
                raise KeyringError(f"malformed key entry {key_id[:8]!r}…: expected id:base64key")
            try:
                raw = _b64decode(encoded.strip())
            except ValueError as exc:
                raise KeyringError(f"key {key_id!r} is not valid base64") from exc
            if len(raw) != 32:
                raise KeyringError(f"key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}")
            if any(existing == key_id for existing, _ in keys):
                raise KeyringError(f"key id {key_id!r} appears twice")
            keys.append((key_id, raw))
        if not keys:
            raise KeyringError("no keys configured")
        return cls(tuple(keys))

    def format(self) -> str:
        return ",".join(f"{key_id}:{_b64encode(raw)}" for key_id, raw in self.keys)

    @property
    def active_key_id(self) -> str:
        return self.keys[-1][0]

    @property
    def key_ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def key(self, key_id: str) -> bytes | None:
        return next((raw for kid, raw in self.keys if kid == key_id), None)


class SecretBox:
    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self._ciphers = {key_id: AESGCM(raw) for key_id, raw in keyring.keys}

    def seal(self, plaintext: str, associated_data: str, key_id: str | None = None) -> str:
        key_id = key_id or self.keyring.active_key_id
        nonce = os.urandom(12)
        sealed = self._ciphers[key_id].encrypt(nonce, plaintext.encode(), associated_data.encode())
        return f"{FORMAT_VERSION}.{key_id}.{_b64encode(nonce + sealed)}"

    def open(self, ciphertext: str, associated_data: str) -> str:
        key_id = self.key_id_of(ciphertext)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"no key {key_id!r} is configured")
        try:
            blob = _b64decode(ciphertext.split(".", 2)[2])
            return cipher.decrypt(blob[:12], blob[12:], associated_data.encode()).decode()
        except (InvalidTag, ValueError, IndexError) as exc:
            raise DecryptionError("ciphertext does not open with its key and identity") from exc

    @staticmethod
    def key_id_of(ciphertext: str) -> str:
        version, _, rest = ciphertext.partition(".")
        key_id, sep, _ = rest.partition(".")
        if version != FORMAT_VERSION or not sep:
            raise DecryptionError("not a ConnectorHub ciphertext")
        return key_id

    def needs_rotation(self, ciphertext: str) -> bool:
        return self.key_id_of(ciphertext) != self.keyring.active_key_id
