"""`connectorhub plugins list|install|upgrade` with a real tap: the tests' fake tap
(tests/fixtures/fake_tap_plugin) built into wheels at two versions, pinned by a catalog entry as
`connectorhub-fake-tap==1.0.0`, and installed by pip from those wheels alone (no index)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from connectorhub.kit.plugin_pins import digest
from tests.cli.test_cli import run

FAKE_TAP = Path(__file__).parent.parent / "fixtures" / "fake_tap_plugin"
NAME = "connectorhub-fake-tap"
ENTRY = f"""\
key: pinned-fake
name: Pinned fake tap
description: The tests' fake Singer tap, pinned to a version.
category: Developer
icon: flask
kind: source
auth_type: none
capabilities:
  streams: true
  incremental: true
plugin:
  name: {NAME}
  pip_url: {NAME}==1.0.0
  executable: tap-fake
  capabilities: [discover, catalog, state]
auth_fields: []
default_config_schema:
  type: object
  properties: {{}}
"""

pytestmark = [pytest.mark.slow, pytest.mark.tap]


def fake_tap_wheel(version: str, out: Path) -> Path:
    """The fake tap's module and console script as a wheel at `version` (written directly: the
    app's venv has no `wheel` package for setuptools to build one, and no index is needed)."""
    dist, module = "connectorhub_fake_tap", "connectorhub_fake_tap.py"
    info = f"{dist}-{version}.dist-info"
    files = {
        module: (FAKE_TAP / module).read_bytes(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\nRequires-Python: >=3.11\n"
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\ntap-fake = connectorhub_fake_tap:main\n",
    }
    record = []
    for name, content in files.items():
        hashed = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={hashed},{len(content)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the fake tap's wheels at 1.0.0 and 1.1.0."""
    out = tmp_path_factory.mktemp("wheels")
    for version in ("1.0.0", "1.1.0"):
        fake_tap_wheel(version, out)
    return out


@pytest.fixture(scope="module")
def seeded_data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data dir migrated and seeded with the pinned fake tap's entry, its catalog dir)."""
    catalog = tmp_path_factory.mktemp("pinned-catalog")
    (catalog / "pinned-fake.yaml").write_text(ENTRY)
    data = tmp_path_factory.mktemp("plugins-cli") / "data"
    for command in (["db", "upgrade"], ["seed"]):
        done = run(data, *command, CONNECTORHUB_CATALOG_EXTRA_DIR=str(catalog))
        assert done.returncode == 0, done.stderr
    return data, catalog


class Plugins:
    """The plugins commands against a data dir of their own and a plugins dir of their own."""

    def __init__(self, data: Path, catalog: Path, wheels: Path):
        self.data, self.dir = data, data.parent / "plugins"
        self.env = {
            "CONNECTORHUB_CATALOG_EXTRA_DIR": str(catalog),
            "CONNECTORHUB_PLUGINS_DIR": str(self.dir),
            "PIP_NO_INDEX": "1",  # pip (in the plugin's venv) finds the wheels and nothing else
            "PIP_FIND_LINKS": str(wheels),
        }

    def __call__(self, *args: str, pins: dict[str, str] | None = None):
        env = dict(self.env)
        if pins is not None:
            env["CONNECTORHUB_PLUGIN_PINS"] = json.dumps(pins)
        return run(self.data, "plugins", *args, **env)

    def listed(self, pins: dict[str, str] | None = None) -> dict:
        shown = self("list", "--json", pins=pins)
        assert shown.returncode == 0, shown.stderr
        return next(row for row in json.loads(shown.stdout) if row["name"] == NAME)

    def venv(self, version: str) -> Path:
        return self.dir / f"{NAME}--{digest(f'{NAME}=={version}')}"

    def version_in(self, venv: Path) -> str:
        """What the venv's own python says is installed (not what the marker says)."""
        return subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             f"import importlib.metadata as m; print(m.version({NAME!r}))"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip

    def discovers(self, venv: Path) -> bool:
        """The venv's tap runs: its discovery lists its stream."""
        config = self.data.parent / "tap-config.json"
        config.write_text("{}")
        found = subprocess.run(
            [str(venv / "bin" / "tap-fake"), "--config", str(config), "--discover"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        streams = json.loads(found.stdout)["streams"] if found.returncode == 0 else []
        return [s["stream"] for s in streams] == ["public-orders"]


@pytest.fixture
def plugins(seeded_data_dir, wheels, tmp_path) -> Plugins:
    data = tmp_path / "data"
    shutil.copytree(seeded_data_dir[0], data)
    return Plugins(data, seeded_data_dir[1], wheels)


def test_list_shows_the_pin_then_the_install_and_a_changed_pin_installs_beside_it(plugins):
    before = plugins.listed()
    assert before["status"] == "not installed" and before["installed_version"] is None
    assert (before["pinned_version"], before["pinned_by"], before["kind"]) == (
        "1.0.0", "catalog", "tap",
    )  # fmt: skip
    installed = plugins("install", NAME)
    assert installed.returncode == 0, installed.stderr
    assert f"{NAME} installed" in installed.stdout
    first = plugins.venv("1.0.0")
    assert plugins.version_in(first) == "1.0.0"
    marker = json.loads((first / ".connectorhub-installed").read_text())
    assert marker == {"pip_url": f"{NAME}==1.0.0", "distribution": NAME, "version": "1.0.0"}
    listed = plugins.listed()
    assert (listed["installed_version"], listed["status"]) == ("1.0.0", "up to date")
    table = plugins("list")
    assert table.stdout.splitlines()[0].split() == [
        "NAME", "KIND", "INSTALLED", "PINNED", "PINNED", "BY", "STATUS",
    ]  # fmt: skip
    assert any(
        line.split()[:4] == [NAME, "tap", "1.0.0", "1.0.0"] for line in table.stdout.splitlines()
    )

    # The operator moves the pin: pending until upgraded, then a venv of its own.
    newer = {NAME: f"{NAME}==1.1.0"}
    pending = plugins.listed(pins=newer)
    assert (pending["installed_version"], pending["pinned_version"]) == ("1.0.0", "1.1.0")
    assert pending["pinned_by"] == "setting" and pending["upgrade_pending"] is True
    assert pending["status"] == "upgrade pending"
    upgraded = plugins("upgrade", NAME, pins=newer)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"{NAME} upgraded to 1.1.0" in upgraded.stdout
    assert (
        plugins.version_in(plugins.venv("1.1.0")) == "1.1.0"
        and plugins.version_in(first) == "1.0.0"
    )
    after = plugins.listed(pins=newer)
    assert (after["installed_version"], after["status"]) == ("1.1.0", "up to date")
    again = plugins("upgrade", NAME, pins=newer)
    assert again.returncode == 0 and f"{NAME} is already at 1.1.0" in again.stdout

    # Back at the catalog's pin: its venv is reused as it was, nothing installed.
    stamp = (first / ".connectorhub-installed").stat().st_mtime_ns
    reused = plugins("install", NAME)
    assert reused.returncode == 0 and f"{NAME} is already installed" in reused.stdout
    assert "pip" not in reused.stdout
    assert (first / ".connectorhub-installed").stat().st_mtime_ns == stamp
    assert plugins.listed()["status"] == "up to date" and plugins.discovers(first)


def test_upgrade_to_a_version_is_recorded_as_the_pin_and_reset_goes_back(plugins):
    assert plugins("install", NAME).returncode == 0
    upgraded = plugins("upgrade", "pinned-fake", "--to", "1.1.0")  # by catalog key, too
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"{NAME} upgraded to 1.1.0" in upgraded.stdout
    assert json.loads((plugins.dir / "pins.json").read_text()) == {NAME: f"{NAME}==1.1.0"}
    listed = plugins.listed()
    assert (listed["installed_version"], listed["pinned_version"], listed["pinned_by"]) == (
        "1.1.0", "1.1.0", "pins file",
    )  # fmt: skip
    # What the hub runs now (a sync installs if need be): the recorded pin, already there.
    assert "is already installed" in plugins("install", NAME).stdout

    refused = plugins("upgrade", NAME, "--to", "1.0.0", pins={NAME: f"{NAME}==1.1.0"})
    assert refused.returncode == 1 and "CONNECTORHUB_PLUGIN_PINS" in refused.stderr
    assert plugins("upgrade", NAME, "--to", "1.0.0", "--reset").returncode == 1

    reset = plugins("upgrade", NAME, "--reset")
    assert reset.returncode == 0, reset.stderr
    assert f"{NAME} now at 1.0.0" in reset.stdout and "already installed" in reset.stdout
    assert json.loads((plugins.dir / "pins.json").read_text()) == {}
    back = plugins.listed()
    assert (back["installed_version"], back["pinned_by"], back["status"]) == (
        "1.0.0", "catalog", "up to date",
    )  # fmt: skip


def test_a_failed_upgrade_leaves_the_old_venv_in_use_and_working(plugins):
    assert plugins("install", NAME).returncode == 0
    old = plugins.venv("1.0.0")
    failed = plugins("upgrade", NAME, "--to", "9.9.9")
    assert failed.returncode == 1
    assert "No matching distribution" in failed.stderr  # pip's own words
    assert "the upgrade failed; 1.0.0 is left as it was" in failed.stderr
    assert not plugins.venv("9.9.9").exists()  # the partial venv is removed
    assert not (plugins.dir / "pins.json").exists()
    still = plugins.listed()
    assert (still["installed_version"], still["pinned_version"], still["status"]) == (
        "1.0.0", "1.0.0", "up to date",
    )  # fmt: skip
    assert plugins.version_in(old) == "1.0.0" and plugins.discovers(old)

    # A pin moved by the operator to a version that cannot be had: the old venv is untouched.
    missing = {NAME: f"{NAME}==9.9.9"}
    assert plugins("upgrade", NAME, pins=missing).returncode == 1
    pending = plugins.listed(pins=missing)
    assert (pending["installed_version"], pending["status"]) == ("1.0.0", "upgrade pending")
    assert plugins.discovers(old) and plugins.listed()["status"] == "up to date"


def test_an_unknown_plugin_is_named_with_the_known_ones(plugins):
    unknown = plugins("upgrade", "tap-nowhere")
    assert unknown.returncode == 1 and "no plugin 'tap-nowhere'" in unknown.stderr
    assert NAME in unknown.stderr
