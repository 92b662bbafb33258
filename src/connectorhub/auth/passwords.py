"""argon2id password hashing."""

from __future__ import annotations

import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# The test suite sets this for the processes it starts (and its own): argon2 at its cheapest, so
# a thousand test users do not cost a thousand full hashes. Never honoured in production.
CHEAP_FOR_TESTS_ENV = "CONNECTORHUB_TEST_CHEAP_PASSWORD_HASHING"


def _make_hasher() -> PasswordHasher:
    cheap = os.environ.get(CHEAP_FOR_TESTS_ENV) == "1"
    if cheap and os.environ.get("CONNECTORHUB_ENV", "development") != "production":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


_hasher = _make_hasher()
# Verifying against this when the user does not exist keeps timing the same either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A one-time password for bootstrapped accounts (never a fixed default)."""
    return secrets.token_urlsafe(18)
