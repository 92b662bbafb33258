"""`connectorhub users role EMAIL developer|admin|owner|none`: an operator grants platform roles
(the first platform owner has no one above them to ask)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from connectorhub.auth.platform_roles import set_platform_role
from connectorhub.auth.schemas import PlatformRole
from connectorhub.config import Settings
from connectorhub.exceptions import HubError
from connectorhub.hub import Hub


def users_role(
    email: str,
    role: Annotated[
        PlatformRole,
        typer.Argument(
            help="developer (edits official templates), admin (also publishes them and "
            "moderates community ones), owner (also grants these roles) or none"
        ),
    ],
) -> None:
    """Give a user a platform role, or take it away with `none`."""

    async def run() -> None:
        hub = Hub(Settings())
        try:
            await hub.start()
            async with hub.work.transaction() as session:
                await set_platform_role(session, None, email, role)
        finally:
            await hub.stop()

    try:
        asyncio.run(run())
    except HubError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"{email} now has no platform role"
        if role is PlatformRole.none
        else f"{email} is now platform {role.value}"
    )
