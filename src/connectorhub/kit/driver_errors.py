"""What can go wrong talking to a third party, by what the caller should do about it.

After the Meltano SDK: a Fatal error stops the run, a Retriable one may succeed later (and may say
when).
"""

from __future__ import annotations


class DriverError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class FatalError(DriverError):
    """Retrying will not help: bad request, unexpected status, refused address, bad response."""


class AuthFailed(FatalError):
    """The third party refused the credentials (401/403): fix them, don't retry."""


class SecretsUnreadableError(FatalError):
    """The stored credentials do not decrypt: only re-entering them helps. The transaction it
    is raised in still commits (the holder was put in error on the way)."""

    keeps_changes = True


class RetriableError(DriverError):
    """Connection error, timeout, 5xx or 429; `retry_after` is the server's wish, in seconds."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None,
        maybe_sent: bool = False,
    ):  # fmt: skip
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after
        # The request may have reached the provider and done its work (a timeout after sending,
        # a 5xx): retrying a create blindly could do it twice.
        self.maybe_sent = maybe_sent
