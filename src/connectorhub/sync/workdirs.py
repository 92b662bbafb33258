"""Where taps run: one private working directory per tap run under `<data_dir>/taps/`, holding
its config (with the source's secrets), catalog and state files while it runs, and who made it
(`owner.json`: host, pid and start time of the hub process). The tap, and everything it starts,
carries the directory's name in its environment (`CONNECTORHUB_TAP_RUN`), which is how a later
process finds them in /proc whatever their pids, process groups or parents are by then.

A directory whose owner is gone was left by a killed hub: `reap` kills what still runs from it,
waits until it is gone, and removes the directory (its config included). The sync domain reaps
every stale directory at start-up, and a sync reaps its connector's before its tap starts, so a
sync never runs beside a process of its previous attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
MARKER = "CONNECTORHUB_TAP_RUN"
OWNER = "owner.json"
UNOWNED_GRACE_SECONDS = 60
# Where earlier versions put tap directories (in the temporary directory, left after a kill).
LEGACY_PREFIX = "chub-tap-"
GONE_WITHIN_SECONDS = 10.0  # SIGKILL is immediate; this only bounds a process stuck in the kernel


@dataclass(frozen=True)
class ProcessId:
    """A process by pid and start time (clock ticks since boot): a pid used again later is
    another process."""

    pid: int
    started: int

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        fields = _stat(pid)
        return None if fields is None else cls(pid, int(fields[19]))

    def alive(self) -> bool:
        fields = _stat(self.pid)
        # A zombie has ended (nobody may be there to reap an orphan's corpse).
        return fields is not None and fields[0] not in "ZX" and int(fields[19]) == self.started


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def root_of(data_dir: Path) -> Path:
    return data_dir.resolve() / "taps"


def this_process() -> dict[str, object]:
    me = ProcessId.of(os.getpid())
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": me.started if me else 0}


def tap_environment(env: dict[str, str], directory: Path) -> dict[str, str]:
    return {**env, MARKER: directory.name}


@contextlib.contextmanager
def tap_directory(root: Path, prefix: str) -> Iterator[Path]:
    """A new private directory `<root>/<prefix><random>`, removed after with all it holds."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=root))  # mode 0700
    try:
        (directory / OWNER).write_text(json.dumps(this_process()))
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def processes_of(name: str) -> list[ProcessId]:
    """Live processes started for the tap directory `name` (the tap, and what it started)."""
    wanted = f"{MARKER}={name}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if wanted in environ.split(b"\0"):
            process = ProcessId.of(int(entry.name))
            if process is not None and process.alive():
                found.append(process)
    return found


def _owner_gone(directory: Path) -> bool | None:
    """Whether the hub process that made `directory` has ended; None when it ran on another
    host (a shared data dir: not ours to judge)."""
    try:
        owner = json.loads((directory / OWNER).read_text())
        pid, started, host = int(owner["pid"]), int(owner["started"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        # Made by a process killed before it wrote this, or by one writing it right now: only
        # an old enough directory is taken for the first.
        try:
            return directory.stat().st_mtime < time.time() - UNOWNED_GRACE_SECONDS
        except OSError:
            return False  # gone meanwhile
    if host != socket.gethostname():
        return None
    return not ProcessId(pid, started).alive()


class StillRunning(Exception):
    def __init__(self, processes: list[ProcessId]):
        self.processes = processes
        pids = ", ".join(str(p.pid) for p in processes)
        super().__init__(f"a tap process of an earlier attempt would not stop (pid {pids})")


async def stop_all(processes: list[ProcessId], seconds: float = GONE_WITHIN_SECONDS) -> None:
    """SIGKILL each and wait until all are gone. Raises StillRunning."""
    for process in processes:
        if process.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
    for _ in range(int(seconds / 0.05)):
        if not any(p.alive() for p in processes):
            return
        await asyncio.sleep(0.05)
    raise StillRunning([p for p in processes if p.alive()])


@dataclass
class Reaped:
    notes: list[str]  # one per directory whose processes were stopped
    removed: int  # directories removed


def _stale(root: Path, prefix: str, fenced_off_too: bool) -> list[tuple[Path, bool]]:
    """(directory, owner gone) of each directory `reap` must look into."""
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(root.glob(f"{prefix}*")):
        gone = _owner_gone(directory)
        if gone is not None and (gone or fenced_off_too):
            found.append((directory, gone))
    return found


async def reap(root: Path, prefix: str = "", *, fenced_off_too: bool = False) -> Reaped:
    """Kill what still runs from the directories `<root>/<prefix>*` whose owner is gone, wait
    until it is gone, and remove them. With `fenced_off_too` (a sync that holds its run's
    claim), processes of a directory whose owner still runs are killed as well: that owner's
    attempt was taken over and may write nothing more. Raises StillRunning."""
    reaped = Reaped([], 0)
    for directory, gone in _stale(root, prefix, fenced_off_too):
        running = processes_of(directory.name)
        if running:
            await stop_all(running)
            pids = ", ".join(str(p.pid) for p in running)
            reaped.notes.append(f"stopped the tap processes {pids} of an earlier attempt")
            log.warning("%s: %s", directory.name, reaped.notes[-1])
        if gone:
            shutil.rmtree(directory, ignore_errors=True)
            reaped.removed += 1
            log.info("removed the stale tap directory %s", directory)
    return reaped


def remove_legacy_directories() -> int:
    """Tap directories of earlier versions, in the temporary directory (config files with
    secrets that a killed process never removed)."""
    removed = 0
    for directory in Path(tempfile.gettempdir()).glob(f"{LEGACY_PREFIX}*"):
        with contextlib.suppress(OSError):
            if directory.is_dir() and directory.stat().st_uid == os.getuid():
                shutil.rmtree(directory)
                removed += 1
    return removed
