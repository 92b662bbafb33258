"""Singer taps, each in its own virtual environment under `<data_dir>/plugins/<name>/`, never in
the app's. Installing is idempotent (a marker records what was installed) and safe to run from
two processes at once (a lock file); a failed install reports pip's own error. The UI installs
in the background and shows pip's output as it comes (`install_in_background`)."""

from __future__ import annotations

import asyncio
import collections
import fcntl
import hashlib
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = ".connectorhub-installed"


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
    def __init__(self, root: Path):
        self.root = root
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

    def venv(self, plugin: dict[str, Any]) -> Path:
        return self.root / plugin["name"]

    def executable(self, plugin: dict[str, Any]) -> Path:
        return self.venv(plugin) / "bin" / plugin["executable"]

    def _fingerprint(self, plugin: dict[str, Any]) -> str:
        return hashlib.sha256(plugin["pip_url"].encode()).hexdigest()

    def installed(self, plugin: dict[str, Any]) -> bool:
        marker = self.venv(plugin) / MARKER
        return (
            marker.exists()
            and marker.read_text().strip() == self._fingerprint(plugin)
            and self.executable(plugin).exists()
        )

    async def install(
        self,
        plugin: dict[str, Any],
        *,
        progress: Callable[[str], Awaitable[None] | None] | None = None,
    ) -> bool:
        """Install if needed; returns whether anything was installed. Raises PluginInstallFailed."""
        if self.installed(plugin):
            return False
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.root / f".{plugin['name']}.lock"
        with lock_path.open("w") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                if self.installed(plugin):  # another process finished it meanwhile
                    return False
                venv = self.venv(plugin)
                steps = [
                    [sys.executable, "-m", "venv", "--clear", str(venv)],
                    [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar",
                     "off", "--disable-pip-version-check", "--no-input", plugin["pip_url"]],
                ]  # fmt: skip
                for command in steps:
                    if progress is not None:
                        shown = progress(f"$ {' '.join(command[2:])}")
                        if asyncio.iscoroutine(shown):
                            await shown
                    await _run(command, plugin["name"], progress)
                if not self.executable(plugin).exists():
                    raise PluginInstallFailed(
                        plugin["name"], f"pip finished but {plugin['executable']} is missing"
                    )
                (venv / MARKER).write_text(self._fingerprint(plugin))
                return True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


async def _run(
    command: list[str], name: str, progress: Callable[[str], Awaitable[None] | None] | None
) -> None:
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
