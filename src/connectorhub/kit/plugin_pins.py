"""Which version of a Singer plugin runs, and what is installed.

A plugin runs at its pin: the catalog entry's `pip_url` (`tap-x==1.2.3`, or a git URL at a tag or
commit), unless the operator overrides it, first by `CONNECTORHUB_PLUGIN_PINS` (JSON, plugin name
→ pip_url), then by `<plugins_dir>/pins.json` (which `connectorhub plugins upgrade NAME --to
VERSION` writes). Each pin gets a virtualenv of its own, `<plugins_dir>/<name>--<digest of the
pip_url>/`, whose marker records the exact pip_url and the version pip installed: an unchanged
pin reuses it, a changed one installs beside it (the old one keeps working until the new one is
complete)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PINS_FILE = "pins.json"
MARKER = ".connectorhub-installed"
_DIGEST = 12
_EXACT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]*\])?\s*===?\s*"
    r"(?P<version>[0-9][A-Za-z0-9.+!_-]*)$"
)
_GIT = re.compile(r"^(?:(?P<prefix>[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*@\s*))?git\+")
# A git ref that cannot move: a commit id, or a tag named like a version (a branch could move).
_FIXED_REF = re.compile(r"^(?:[0-9a-f]{7,40}|v?[0-9]+(?:\.[0-9]+)*(?:[._+-]?[A-Za-z0-9.]+)?)$")


def _git_ref(pip_url: str) -> tuple[str, str | None, str]:
    """(what precedes the ref, the ref or None, the `#…` fragment) of a git pip_url."""
    url, hash_sign, fragment = pip_url.partition("#")
    body, at, ref = url.rpartition("@")
    if not at or "/" in ref or body.endswith(("git+ssh://", "git+https://")) or "://" not in body:
        return url, None, hash_sign + fragment
    return body, ref, hash_sign + fragment


def pinned_version(pip_url: str) -> str | None:
    """The version a pip_url pins (`==` version, git tag or commit, wheel file's version), or
    None when it pins none (a bare name, a range, a branch, a source directory)."""
    text = pip_url.strip()
    if exact := _EXACT.match(text):
        return exact["version"]
    if _GIT.match(text):
        ref = _git_ref(text)[1]
        return ref if ref and _FIXED_REF.match(ref) else None
    if text.endswith(".whl"):
        parts = Path(text).name.split("-")
        return parts[1] if len(parts) >= 5 else None
    return None


def is_pinned(pip_url: str) -> bool:
    return pinned_version(pip_url) is not None


def at_version(pip_url: str, version: str) -> str:
    """`pip_url` moved to `version` (`tap-x==1.2.3` → `tap-x==<version>`, a git URL → that tag
    or commit); a `version` that is itself a pip_url (has `==`, `@` or `/`) is taken as given.
    Raises ValueError when the pin has no version to move."""
    version = version.strip()
    if any(sign in version for sign in ("==", "@", "/")):
        return version
    text = pip_url.strip()
    if exact := _EXACT.match(text):
        return f"{exact['name']}{exact['extras'] or ''}=={version}"
    if _GIT.match(text):
        body, _, fragment = _git_ref(text)
        return f"{body}@{version}{fragment}"
    raise ValueError(f"{pip_url!r} has no version to change; give the whole pip_url instead")


def digest(pip_url: str) -> str:
    return hashlib.sha256(pip_url.strip().encode()).hexdigest()[:_DIGEST]


@dataclass(frozen=True)
class Pin:
    pip_url: str
    source: str  # "catalog", "setting" (CONNECTORHUB_PLUGIN_PINS) or "pins file"

    @property
    def version(self) -> str | None:
        return pinned_version(self.pip_url)


@dataclass(frozen=True)
class Install:
    """One plugin virtualenv on disk, complete (its marker written last)."""

    path: Path
    pip_url: str | None  # None: made by an earlier version of the hub (its marker is a hash)
    distribution: str | None
    version: str | None
    installed_at: float


class Pins:
    """The operator's overrides: the setting's, then the pins file's (read on every use, so a
    `plugins upgrade --to` made by another process counts at once)."""

    def __init__(self, root: Path, setting: dict[str, str] | None = None):
        self.root, self.setting = root, dict(setting or {})

    @property
    def file(self) -> Path:
        return self.root / PINS_FILE

    def recorded(self) -> dict[str, str]:
        try:
            pins = json.loads(self.file.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise ValueError(f"{self.file} is not valid JSON: {exc}") from None
        return {str(k): str(v) for k, v in pins.items()} if isinstance(pins, dict) else {}

    def of(self, plugin: dict[str, Any]) -> Pin:
        name = plugin["name"]
        if name in self.setting:
            return Pin(self.setting[name], "setting")
        recorded = self.recorded().get(name)
        if recorded:
            return Pin(recorded, "pins file")
        return Pin(plugin["pip_url"], "catalog")

    def record(self, name: str, pip_url: str | None) -> None:
        """Write (or with None remove) `name`'s pin in the pins file, atomically (readers see
        the old file or the new one) and one writer at a time (no other plugin's pin lost)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.root / ".pins.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            pins = self.recorded()
            if pip_url is None:
                pins.pop(name, None)
            else:
                pins[name] = pip_url
            handle, staging = tempfile.mkstemp(dir=self.root, prefix=".pins-", suffix=".json")
            with os.fdopen(handle, "w") as out:
                json.dump(dict(sorted(pins.items())), out, indent=2)
            os.replace(staging, self.file)


def venv_for(root: Path, name: str, pip_url: str) -> Path:
    return root / f"{name}--{digest(pip_url)}"


def write_marker(venv: Path, pip_url: str, distribution: str | None, version: str | None) -> None:
    marker = {"pip_url": pip_url, "distribution": distribution, "version": version}
    (venv / MARKER).write_text(json.dumps(marker))


def read_install(venv: Path) -> Install | None:
    """The install in `venv`, or None when it is incomplete (no marker: failed or under way)."""
    marker = venv / MARKER
    try:
        text, stamp = marker.read_text(), marker.stat().st_mtime
    except OSError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):  # an earlier layout: `<root>/<name>/`, marker = sha256
        return Install(venv, None, None, None, stamp)
    return Install(venv, data.get("pip_url"), data.get("distribution"), data.get("version"), stamp)


def installs_of(root: Path, name: str) -> list[Install]:
    """Every complete virtualenv of plugin `name`, newest first (an earlier layout's too)."""
    wanted = re.compile(rf"^{re.escape(name)}--[0-9a-f]{{{_DIGEST}}}$")
    found = []
    if root.is_dir():
        for path in root.iterdir():
            if wanted.match(path.name) or path.name == name:
                install = read_install(path)
                if install is not None:
                    found.append(install)
    return sorted(found, key=lambda i: i.installed_at, reverse=True)


def prune(root: Path, name: str, keep: Path) -> list[Path]:
    """Remove `name`'s virtualenvs but `keep` and the newest other (a rollback is then a reuse,
    and a tap still running from the previous one is not pulled from under it)."""
    others = [i.path for i in installs_of(root, name) if i.path != keep]
    removed = others[1:]
    for path in removed:
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
    return removed


# Run by the plugin's own python: which distribution provides its executable, at what version.
WHICH_DISTRIBUTION = """\
import json, sys
from importlib.metadata import entry_points
found = [e for e in entry_points(group="console_scripts") if e.name == sys.argv[1]]
dist = found[0].dist if found else None
print(json.dumps([dist.metadata["Name"], dist.version] if dist else [None, None]))
"""


class PinFixedBySetting(Exception):
    def __init__(self, name: str):
        super().__init__(
            f"{name} is pinned by CONNECTORHUB_PLUGIN_PINS; change its pin there instead"
        )


@dataclass(frozen=True)
class State:
    """A plugin as `connectorhub plugins list` shows it."""

    name: str
    pin: Pin
    current: Install | None  # the virtualenv of its pin, once complete
    newest: Install | None  # the newest complete virtualenv of any pin

    @property
    def installed_version(self) -> str | None:
        shown = self.current or self.newest
        return shown.version if shown else None

    @property
    def upgrade_pending(self) -> bool:
        """Installed, but not at its pin (the next sync or `plugins upgrade` installs it)."""
        return self.current is None and self.newest is not None


def state_of(root: Path, name: str, pin: Pin, executable: str) -> State:
    installs = installs_of(root, name)
    venv = venv_for(root, name, pin.pip_url)
    current = next(
        (
            i
            for i in installs
            if i.path == venv and i.pip_url == pin.pip_url and (venv / "bin" / executable).exists()
        ),
        None,
    )
    return State(name, pin, current, installs[0] if installs else None)
