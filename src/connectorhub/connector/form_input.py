"""What the connector forms (Add, Configure, the guided add flow) send, read the one way."""

from __future__ import annotations

from pydantic import ValidationError


def pydantic_errors(exc: ValidationError) -> dict[str, list[str]]:
    """A body Pydantic refused, as the error map the forms show at their fields."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "$"
        errors.setdefault(path, []).append(error["msg"])
    return errors


def tags_of(raw: str) -> list[str]:
    return [tag.strip() for tag in raw.split(",") if tag.strip()]
