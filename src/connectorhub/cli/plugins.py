"""`connectorhub plugins install|list|upgrade`: the Singer taps and targets the catalog names, each
in its own virtualenv per pin (see kit/plugin_pins.py for pins and their overrides)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from connectorhub.catalog.repository import CatalogRepository
from connectorhub.cli.common import fail, run_with_hub
from connectorhub.kit.plugin_pins import PinFixedBySetting, State
from connectorhub.kit.plugins import PluginInstallFailed

plugins_app = typer.Typer(
    help="Singer taps and targets, each in its own virtualenv per pinned version.",
    no_args_is_help=True,
)


async def _catalog_plugins(hub) -> dict[str, tuple[str, dict[str, Any]]]:
    """Plugin name → (catalog key, plugin) of every catalog entry naming a plugin."""
    async with hub.work.transaction() as session:
        entries = await CatalogRepository(session).all_by_key()
    return {
        e.plugin["name"]: (e.key, {**e.plugin, "kind": "tap" if e.kind == "source" else "target"})
        for e in sorted(entries.values(), key=lambda e: e.key)
        if e.plugin
    }


async def _plugin_named(hub, name: str) -> dict[str, Any]:
    """The plugin by its name or its catalog entry's key."""
    plugins = await _catalog_plugins(hub)
    found = plugins[name][1] if name in plugins else None
    found = found or next((p for key, p in plugins.values() if key == name), None)
    if found is None:
        raise fail(f"no plugin {name!r}; known: {', '.join(sorted(plugins))}")
    return found


@plugins_app.command("install")
def plugins_install(name: str) -> None:
    """Install the Singer plugin a catalog entry names at its pin (idempotent), in its own venv."""

    async def run(hub):
        plugin = await _plugin_named(hub, name)
        typer.echo(f"installing {plugin['name']} ({hub.plugins.pip_url(plugin)}) …")
        changed = await hub.plugins.install(plugin, progress=typer.echo)
        return plugin, changed

    try:
        plugin, changed = run_with_hub(run)
    except PluginInstallFailed as exc:  # pip's own error, as pip printed it
        raise fail(str(exc)) from None
    typer.echo(f"{plugin['name']} {'installed' if changed else 'is already installed'}")


def _status(state: State) -> str:
    if state.current is not None:
        return "up to date"
    return "upgrade pending" if state.upgrade_pending else "not installed"


def _row(kind: str, state: State) -> dict[str, Any]:
    return {
        "name": state.name,
        "kind": kind,
        "installed_version": state.installed_version,
        "pinned_version": state.pin.version,
        "pip_url": state.pin.pip_url,
        "pinned_by": state.pin.source,
        "upgrade_pending": state.upgrade_pending,
        "status": _status(state),
    }


@plugins_app.command("list")
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per plugin")] = False,
) -> None:
    """Taps and targets: installed and pinned version, who pinned it, whether an upgrade is due."""

    async def run(hub):
        plugins = await _catalog_plugins(hub)
        rows = [_row(p["kind"], hub.plugins.state(p)) for _, p in plugins.values()]
        unknown = sorted(set(hub.plugins.pins.setting) - set(plugins))
        return rows, unknown

    rows, unknown = run_with_hub(run)
    for name in unknown:
        typer.secho(
            f"warning: CONNECTORHUB_PLUGIN_PINS names {name!r}, which no catalog entry has",
            fg=typer.colors.YELLOW, err=True,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    header = ("NAME", "KIND", "INSTALLED", "PINNED", "PINNED BY", "STATUS")
    table = [header]
    for r in rows:
        pinned = r["pinned_version"] or f"unpinned ({r['pip_url']})"
        installed = r["installed_version"] or "-"
        table.append((r["name"], r["kind"], installed, pinned, r["pinned_by"], r["status"]))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@plugins_app.command("upgrade")
def plugins_upgrade(
    name: str,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Another version (or a whole pip_url), recorded as this plugin's pin"
        ),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Back to the catalog's pin (drops the recorded one)")
    ] = False,
) -> None:
    """Reinstall at its pin (or --to VERSION) beside the venv in use; a failure keeps the old."""
    if to is not None and reset:
        raise fail("give --to or --reset, not both")

    async def run(hub):
        plugin = await _plugin_named(hub, name)
        before = hub.plugins.state(plugin)
        typer.echo(f"upgrading {plugin['name']} …")
        try:
            pip_url, changed = await hub.plugins.upgrade(
                plugin, to=to, reset=reset, progress=typer.echo
            )
        except (PinFixedBySetting, ValueError) as exc:
            raise fail(str(exc)) from None
        except PluginInstallFailed as exc:  # pip's own error, and what is still in place
            kept = before.current or before.newest
            still = (
                f"{kept.version or kept.path.name} is left as it was" if kept else "nothing changed"
            )
            raise fail(f"{exc}\nthe upgrade failed; {still}") from None
        return plugin, before, pip_url, changed, hub.plugins.state(plugin)

    plugin, before, pip_url, changed, after = run_with_hub(run)
    version = after.installed_version or pip_url
    if changed:
        typer.echo(f"{plugin['name']} upgraded to {version} ({pip_url})")
    elif before.current != after.current:  # a pin installed before: its virtualenv is reused
        typer.echo(f"{plugin['name']} now at {version} ({pip_url}), already installed")
    else:
        typer.echo(f"{plugin['name']} is already at {version} ({pip_url})")
