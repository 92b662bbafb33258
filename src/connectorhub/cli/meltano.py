"""`connectorhub meltano import|export`: a Meltano project's extractors in as source
connectors, and back out as a meltano.yml."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from connectorhub.config import Settings
from connectorhub.exceptions import HubError, ValidationFailed
from connectorhub.hub import Hub
from connectorhub.meltano import service
from connectorhub.meltano.export import export_project
from connectorhub.meltano.schemas import ImportResult

meltano_app = typer.Typer(help="Meltano projects (meltano.yml) in and out.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _errors(exc: HubError) -> str:
    if isinstance(exc, ValidationFailed):
        return exc.message + "".join(
            f"\n  {path}: {' '.join(messages)}" for path, messages in exc.errors.items()
        )
    return exc.message


def _import(text: str, workspace: str, environment: str | None, values: dict, dry_run: bool):
    async def run() -> ImportResult:
        hub = Hub(Settings())
        try:
            await hub.start()
            async with hub.work.workspace(workspace, actor="cli") as scope:
                return await service.import_project(
                    scope, hub.box, text, environment=environment, values=values,
                    dry_run=dry_run, allow_custom=hub.settings.meltano_custom_taps,
                )  # fmt: skip
        finally:
            await hub.stop()

    try:
        return asyncio.run(run())
    except HubError as exc:
        raise _fail(_errors(exc)) from None


def _show(result: ImportResult) -> None:
    verb = "would" if result.dry_run else "did"
    for c in result.connectors:
        where = "a new tap" if c.custom_tap else f"catalog {c.catalog_key}"
        typer.echo(f"{c.action} {c.name} ({where}; {verb} install {c.pip_url})")
        typer.echo(f"  config: {', '.join(c.config) or '-'}")
        typer.echo(f"  sealed: {', '.join(c.sealed) or '-'}")
        if c.needs:
            typer.echo(f"  needs:  {', '.join(c.needs)}")
        if c.select:
            typer.echo(f"  select: {', '.join(c.select)}")
        if c.schedule:
            typer.echo(f"  schedule: {c.schedule}")
    for note in result.notes:
        typer.echo(f"note: {note}")


@meltano_app.command("import")
def meltano_import(
    file: Annotated[Path, typer.Argument(help="The meltano.yml", exists=True, dir_okay=False)],
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    environment: Annotated[
        str | None, typer.Option(help="The Meltano environment whose overrides apply")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be done")] = (
        False
    ),
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE for a variable the file reads (else read from "
            "this process's environment, else asked for)",
        ),
    ] = None,
) -> None:
    """Import each extractor as a source connector (secrets sealed; nothing written when any
    extractor is refused)."""
    values = dict(os.environ)
    for item in sets or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _fail(f"--set takes NAME=VALUE, not {name!r}")
        values[name] = value
    text = file.read_text(encoding="utf-8")
    preview = _import(text, workspace, environment, values, True)
    missing = [n for c in preview.connectors for n in c.needs]
    if dry_run:
        _show(preview)
        return
    if missing and not sys.stdin.isatty():
        raise _fail(f"no value for {', '.join(missing)}: set them, or pass --set NAME=VALUE")
    for name in dict.fromkeys(missing):
        values[name] = typer.prompt(name, hide_input=True)
    _show(_import(text, workspace, environment, values, False))


@meltano_app.command("export")
def meltano_export(
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout")
    ] = None,
    loader: Annotated[str, typer.Option(help="The loader the schedules' jobs run")] = (
        "target-jsonl"
    ),
) -> None:
    """Write the workspace's source connectors as a meltano.yml (credentials as $VAR)."""

    async def run() -> str:
        hub = Hub(Settings())
        try:
            await hub.start()
            async with hub.work.workspace(workspace, actor="cli") as scope:
                return await export_project(scope, loader=loader)
        finally:
            await hub.stop()

    try:
        text = asyncio.run(run())
    except HubError as exc:
        raise _fail(_errors(exc)) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
