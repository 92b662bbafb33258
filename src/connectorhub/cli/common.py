"""What every command shares: errors as a red line and exit code 1, and a started Hub."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from connectorhub.config import Settings
from connectorhub.exceptions import HubError, StartupRefused, ValidationFailed
from connectorhub.hub import Hub

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def run_with_hub(make: Callable[..., Awaitable[T]], *args: object, start: bool = True) -> T:
    """Run `make(hub, *args)` with a started Hub; errors become a message and exit code 1."""

    async def main() -> T:
        hub = Hub(Settings())
        try:
            if start:
                await hub.start()
            return await make(hub, *args)
        finally:
            await hub.stop()

    try:
        return asyncio.run(main())
    except ValidationFailed as exc:
        details = "; ".join(
            f"{path}: {' '.join(messages)}" for path, messages in exc.errors.items()
        )
        raise fail(f"{exc.message}: {details}") from None
    except (StartupRefused, HubError) as exc:
        raise fail(str(exc)) from None
