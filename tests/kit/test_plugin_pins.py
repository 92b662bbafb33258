"""Pins read from pip_urls, moved to another version, and the operator's pins file."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import ValidationError

from connectorhub.config import Settings
from connectorhub.kit.plugin_pins import (
    Pins,
    at_version,
    digest,
    installs_of,
    pinned_version,
    prune,
    venv_for,
    write_marker,
)

PLUGIN = {"name": "tap-x", "pip_url": "tap-x==1.2.3", "executable": "tap-x"}


@pytest.mark.parametrize(
    ("pip_url", "version"),
    [
        ("tap-x==1.2.3", "1.2.3"),
        ("tap-x[s3]==0.10.0", "0.10.0"),
        ("meltanolabs-tap-postgres===0.10.0", "0.10.0"),
        ("git+https://github.com/org/tap-x.git@v1.4.0", "v1.4.0"),
        ("git+https://github.com/org/tap-x.git@0f1e2d3c4b5a69788796a5b4c3d2e1f001122334", "0f1e2d3c4b5a69788796a5b4c3d2e1f001122334"),
        ("tap-x @ git+https://github.com/org/tap-x.git@2.0.1#egg=tap-x", "2.0.1"),
        ("/wheels/tap_x-1.0.0-py3-none-any.whl", "1.0.0"),
        ("tap-x", None),
        ("tap-x>=1.2", None),
        ("tap-x~=1.2", None),
        ("git+https://github.com/org/tap-x.git", None),
        ("git+https://github.com/org/tap-x.git@main", None),
        ("git+ssh://git@github.com/org/tap-x.git", None),
        ("/srv/taps/tap-x", None),
    ],
)  # fmt: skip
def test_the_version_a_pip_url_pins(pip_url, version):
    assert pinned_version(pip_url) == version


def test_a_pin_moves_to_another_version_keeping_its_form():
    assert at_version("tap-x[s3]==1.2.3", "1.3.0") == "tap-x[s3]==1.3.0"
    assert (
        at_version("git+https://github.com/org/tap-x.git@v1.4.0#egg=tap-x", "v1.5.0")
        == "git+https://github.com/org/tap-x.git@v1.5.0#egg=tap-x"
    )
    assert at_version("tap-x==1.2.3", "tap-y==2.0") == "tap-y==2.0"  # a whole pip_url as given
    with pytest.raises(ValueError, match="no version to change"):
        at_version("/srv/taps/tap-x", "2.0")


def test_the_setting_wins_over_the_pins_file_which_wins_over_the_catalog(tmp_path):
    pins = Pins(tmp_path)
    assert (pins.of(PLUGIN).pip_url, pins.of(PLUGIN).source) == ("tap-x==1.2.3", "catalog")
    pins.record("tap-x", "tap-x==1.3.0")
    assert json.loads((tmp_path / "pins.json").read_text()) == {"tap-x": "tap-x==1.3.0"}
    assert (pins.of(PLUGIN).version, pins.of(PLUGIN).source) == ("1.3.0", "pins file")
    overridden = Pins(tmp_path, {"tap-x": "tap-x==0.9.0"})
    assert (overridden.of(PLUGIN).version, overridden.of(PLUGIN).source) == ("0.9.0", "setting")
    pins.record("tap-x", None)
    assert pins.of(PLUGIN).source == "catalog" and pins.recorded() == {}


def test_each_pin_has_a_virtualenv_of_its_own(tmp_path):
    one, other = (
        venv_for(tmp_path, "tap-x", "tap-x==1.2.3"),
        venv_for(tmp_path, "tap-x", "tap-x==1.3.0"),
    )
    assert one != other and one.name == f"tap-x--{digest('tap-x==1.2.3')}"
    assert venv_for(tmp_path, "tap-x", "tap-x==1.2.3") == one


def test_prune_keeps_the_new_venv_and_the_newest_other_and_removes_the_rest(tmp_path):
    made = []
    for n, pip_url in enumerate(["tap-x==1.0.0", "tap-x==1.1.0", "tap-x==1.2.0"]):
        venv = venv_for(tmp_path, "tap-x", pip_url)
        venv.mkdir()
        write_marker(venv, pip_url, "tap-x", pip_url.split("==")[1])
        os.utime(venv / ".connectorhub-installed", (1000 + n, 1000 + n))
        made.append(venv)
    legacy = tmp_path / "tap-x"  # the layout before a venv per pin: marker = a hash
    legacy.mkdir()
    (legacy / ".connectorhub-installed").write_text("ab" * 32)
    os.utime(legacy / ".connectorhub-installed", (999, 999))
    unfinished = venv_for(tmp_path, "tap-x", "tap-x==2.0.0")
    unfinished.mkdir()  # no marker: not an install (under way elsewhere, say), left alone
    other = venv_for(tmp_path, "tap-y", "tap-y==1.0.0")
    other.mkdir()
    write_marker(other, "tap-y==1.0.0", "tap-y", "1.0.0")
    assert [i.version for i in installs_of(tmp_path, "tap-x")] == ["1.2.0", "1.1.0", "1.0.0", None]

    removed = prune(tmp_path, "tap-x", keep=made[0])
    assert sorted(removed) == sorted([made[1], legacy])
    assert [p.exists() for p in made] == [True, False, True]
    assert unfinished.exists() and other.exists() and not legacy.exists()


def test_the_setting_is_json_from_the_environment_and_refuses_a_bad_name(monkeypatch, tmp_path):
    monkeypatch.setenv("CONNECTORHUB_PLUGIN_PINS", '{"tap-x": " tap-x==0.9.0 "}')
    settings = Settings(data_dir=tmp_path)
    assert settings.plugin_pins == {"tap-x": "tap-x==0.9.0"}
    assert Pins(tmp_path, settings.plugin_pins).of(PLUGIN).version == "0.9.0"
    monkeypatch.setenv("CONNECTORHUB_PLUGIN_PINS", '{"Tap X": "tap-x==0.9.0"}')
    with pytest.raises(ValidationError, match="a plugin name and a non-empty pip_url"):
        Settings(data_dir=tmp_path)
