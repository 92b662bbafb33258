"""Errors that carry their HTTP status; one handler renders them for the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class HubError(Exception):
    status_code = 500
    default_message = "Internal error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        return {"detail": self.message}


class BadRequest(HubError):
    status_code = 400
    default_message = "Bad request"


class ValidationFailed(BadRequest):
    """Schema-invalid input: rendered as the spec's error map `{"errors": {path: [messages]}}`.

    Schema errors (config, an execution's input) keep the default `detail`, so a client sees one
    wording wherever the same config is refused; `errors` says what is wrong."""

    default_message = "Validation failed"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        super().__init__(message)
        self.errors = errors

    def to_json(self) -> dict[str, Any]:
        return {"detail": self.message, "errors": self.errors}


class UnreadableFile(BadRequest):
    """An uploaded file that cannot be read (a meltano.yml): says where, when the parser knows."""

    default_message = "The file cannot be read"

    def __init__(self, message: str | None = None, line: int | None = None):
        super().__init__(message)
        self.line = line

    def to_json(self) -> dict[str, Any]:
        return {"detail": self.message, "line": self.line}


class NotAuthenticated(HubError):
    status_code = 401
    default_message = "Authentication required"

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(HubError):
    status_code = 403
    default_message = "You do not have permission to do this"


class NotFound(HubError):
    status_code = 404
    default_message = "Not found"


class Conflict(HubError):
    status_code = 409
    default_message = "Conflict"


class CredentialsUnreadable(Conflict):
    """Sealed credentials no configured key opens: only re-entering them helps. The request's
    transaction still commits (the connector was put in error on the way)."""

    default_message = "credentials unreadable — re-enter them"
    keeps_changes = True


class TooManyRequests(HubError):
    status_code = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, retry_after: int | None = None):
        super().__init__(
            message, headers={"Retry-After": str(retry_after)} if retry_after else None
        )


class ServiceUnavailable(HubError):
    """The database could not be reached in time (its pool exhausted, SQLite's write lock held
    past its timeout): nothing was changed, and trying again shortly is right."""

    status_code = 503
    default_message = "The server is busy: try again shortly."

    def __init__(self, message: str | None = None, retry_after: int = 2):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class LoginRequired(HubError):
    """A page needs a signed-in browser: the UI handler redirects to the sign-in page."""

    status_code = 401
    default_message = "Please sign in"


class CsrfRejected(Forbidden):
    default_message = (
        "The form expired or did not come from this site. Reload the page and try again."
    )


class StartupRefused(RuntimeError):
    """The process must not start (wrong key, unsafe database role in production…)."""


F = TypeVar("F", bound=Callable[..., Any])


def raises(*errors: type[HubError]) -> Callable[[F], F]:
    """Mark a request dependency with the errors it raises: every operation that depends on it
    documents their statuses (web/openapi_statuses.py)."""

    def mark(dependency: F) -> F:
        dependency.hub_errors = errors  # type: ignore[attr-defined]
        return dependency

    return mark


async def hub_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=exc.headers)


def install_api_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(HubError, hub_error_handler)
