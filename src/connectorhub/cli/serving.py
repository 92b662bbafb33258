"""How `connectorhub serve` runs uvicorn: one process, or several sharing the port."""

from __future__ import annotations

import os

import typer
import uvicorn

from connectorhub.app import create_app
from connectorhub.config import Settings
from connectorhub.web.access_log import uvicorn_log_config
from connectorhub.web.limits import uvicorn_limits


def server_processes(settings: Settings, asked: int | None) -> int:
    """The number of server processes: as asked, else the CPU count on PostgreSQL and one on
    SQLite. Exits 2 when more than one is asked for on SQLite."""
    if settings.is_sqlite and (asked or 1) > 1:
        # The embedded default's process is also its worker and scheduler: a second one would
        # run the periodic work twice and queue for SQLite's one write lock besides.
        typer.secho(
            "--workers above 1 needs PostgreSQL (CONNECTORHUB_DATABASE_URL)", err=True, fg="red"
        )
        raise typer.Exit(2)
    return asked or (1 if settings.is_sqlite else os.cpu_count() or 1)


def run_server(settings: Settings, host: str, port: int, processes: int) -> None:
    # proxy_headers off: X-Forwarded-* are believed from CONNECTORHUB_TRUSTED_PROXIES only
    # (web/forwarded.py), never from uvicorn's own default list.
    options = dict(
        host=host, port=port, log_level=settings.log_level.lower(), proxy_headers=False,
        log_config=uvicorn_log_config(), **uvicorn_limits(settings),
    )  # fmt: skip
    if processes == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        # Each process builds its own app from the same environment (the factory reads it).
        uvicorn.run("connectorhub.app:create_app", factory=True, workers=processes, **options)
