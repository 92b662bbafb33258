"""Singer taps, each in its own virtual environment under `<data_dir>/plugins/`, never in the
app's: one per pin (see kit/plugin_pins.py), so an unchanged pin is reused, a changed one installs
beside the old one, and a failed install leaves the old one as it was. Installing is idempotent
and safe to run from two processes at once (a lock file); a failed install reports pip's own
error. The UI installs in the background and shows pip's output as it comes
(`install_in_background`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectorhub.kit import plugin_pins
from connectorhub.kit.plugin_pins import MARKER, Pins

__all__ = ["MARKER", "PluginInstallFailed", "PluginManager", "clean_env"]


class PluginInstallFailed(Exception):
    def __init__(self, name: str, output_tail: str):
        super().__init__(f"installing {name} failed:\n{output_tail}")
        self.name, self.output_tail = name, output_tail


def clean_env() -> dict[str, str]:
    """What a plugin process inherits: never the hub's keys or database URL."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONNECTORHUB_", "PG", "DATABASE_URL", "AWS_", "GOOGLE_"))
    }


@dataclass
class InstallProgress:
    """An install running in this process: pip's latest lines, then done (or its error)."""

    name: str
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=30))
    done: bool = False
    error: str | None = None


class PluginManager:
    def __init__(self, root: Path, pins: dict[str, str] | None = None):
        self.root = root
        self.pins = Pins(root, pins)  # the operator's overrides of the catalog's pins
        self.installs: dict[str, InstallProgress] = {}

    def install_in_background(
        self, plugin: dict[str, Any], run_soon: Callable[[Coroutine[Any, Any, None]], Any]
    ) -> InstallProgress:
        """Start installing (or join the install already running here) and return its progress."""
        current = self.installs.get(plugin["name"])
        if current is not None and not current.done:
            return current
        progress = self.installs[plugin["name"]] = InstallProgress(plugin["name"])

        async def work() -> None:
            try:
                await self.install(plugin, progress=progress.lines.append)
            except PluginInstallFailed as failure:
                progress.error = failure.output_tail or str(failure)
            except Exception as failure:  # a full disk, say: shown, never a stuck spinner
                progress.error = str(failure)
            finally:
                progress.done = True

        run_soon(work())
        return progress

    async def follow_install(
        self, name: str, *, stop: Callable[[], Awaitable[bool]], every: float = 0.25
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """An install running here as `(event, data)`: `progress` whenever pip prints, then
        `end` (also at once when no install of `name` runs in this process)."""
        sent: tuple[str, ...] | None = None
        while not await stop():
            progress = self.installs.get(name)
            if progress is None:
                yield "end", {"installing": False}
                return
            lines = tuple(progress.lines)
            if lines != sent:
                sent = lines
                yield "progress", {"lines": len(lines)}
            if progress.done:
                yield "end", {"error": progress.error is not None}
                return
            await asyncio.sleep(every)

    def pip_url(self, plugin: dict[str, Any]) -> str:
        """What `plugin` runs at: its catalog pin unless the operator overrides it."""
        return self.pins.of(plugin).pip_url

    def venv(self, plugin: dict[str, Any], pip_url: str | None = None) -> Path:
        return plugin_pins.venv_for(self.root, plugin["name"], pip_url or self.pip_url(plugin))

    def executable(self, plugin: dict[str, Any], pip_url: str | None = None) -> Path:
        return self.venv(plugin, pip_url) / "bin" / plugin["executable"]

    def installed(self, plugin: dict[str, Any], pip_url: str | None = None) -> bool:
        pip_url = pip_url or self.pip_url(plugin)
        found = plugin_pins.read_install(self.venv(plugin, pip_url))
        return (
            found is not None
            and found.pip_url == pip_url
            and self.executable(plugin, pip_url).exists()
        )

    async def install(
        self,
        plugin: dict[str, Any],
        *,
        progress: Callable[[str], Awaitable[None] | None] | None = None,
        pip_url: str | None = None,
    ) -> bool:
        """Install at its pin (or at `pip_url`) if need be, in that pin's own virtualenv; returns
        whether anything was installed. Raises PluginInstallFailed (the partial virtualenv
        removed, every other one untouched)."""
        pip_url = pip_url or self.pip_url(plugin)
        if self.installed(plugin, pip_url):
            return False
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.root / f".{plugin['name']}.lock"
        with lock_path.open("w") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                if self.installed(plugin, pip_url):  # another process finished it meanwhile
                    return False
                venv = self.venv(plugin, pip_url)
                python = str(venv / "bin" / "python")
                steps = [
                    [sys.executable, "-m", "venv", "--clear", str(venv)],
                    [python, "-m", "pip", "install", "--progress-bar", "off",
                     "--disable-pip-version-check", "--no-input", pip_url],
                ]  # fmt: skip
                try:
                    for command in steps:
                        if progress is not None:
                            shown = progress(f"$ {' '.join(command[2:])}")
                            if asyncio.iscoroutine(shown):
                                await shown
                        await _run(command, plugin["name"], progress)
                    if not self.executable(plugin, pip_url).exists():
                        raise PluginInstallFailed(
                            plugin["name"], f"pip finished but {plugin['executable']} is missing"
                        )
                    which = [python, "-c", plugin_pins.WHICH_DISTRIBUTION, plugin["executable"]]
                    distribution, version = json.loads(await _run(which, plugin["name"], None))
                except BaseException:
                    with contextlib.suppress(OSError):
                        shutil.rmtree(venv)
                    raise
                plugin_pins.write_marker(venv, pip_url, distribution, version)  # complete now
                plugin_pins.prune(self.root, plugin["name"], keep=venv)
                return True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def state(self, plugin: dict[str, Any]) -> plugin_pins.State:
        """Its pin, the version installed and whether an upgrade is pending."""
        pin = self.pins.of(plugin)
        return plugin_pins.state_of(self.root, plugin["name"], pin, plugin["executable"])

    async def upgrade(
        self,
        plugin: dict[str, Any],
        *,
        to: str | None = None,
        reset: bool = False,
        progress: Callable[[str], Awaitable[None] | None] | None = None,
    ) -> tuple[str, bool]:
        """Install at its pin, or at version `to` (recorded in the pins file), or with `reset` at
        the catalog's pin (the recorded one dropped); returns (pip_url, whether anything was
        installed). The new virtualenv is complete before the pin moves to it: a failure
        (PluginInstallFailed) leaves the old one in use. Raises PinFixedBySetting, ValueError."""
        name, catalog = plugin["name"], plugin["pip_url"]
        if (to is not None or reset) and name in self.pins.setting:
            raise plugin_pins.PinFixedBySetting(name)
        if reset:
            target = catalog
        elif to is not None:
            target = plugin_pins.at_version(self.pip_url(plugin), to)
        else:
            target = self.pip_url(plugin)
        changed = await self.install(plugin, pip_url=target, progress=progress)
        if to is not None or reset:
            self.pins.record(name, None if target == catalog else target)
        return target, changed


async def _run(
    command: list[str], name: str, progress: Callable[[str], Awaitable[None] | None] | None
) -> str:
    """Run `command`, passing each line of its output to `progress`; returns its last line."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=clean_env(),
    )
    assert process.stdout is not None
    tail: collections.deque[str] = collections.deque(maxlen=20)
    async for raw in process.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)
            if progress is not None:
                shown = progress(line)
                if asyncio.iscoroutine(shown):
                    await shown
    if await process.wait() != 0:
        raise PluginInstallFailed(name, "\n".join(tail))
    return tail[-1] if tail else ""
