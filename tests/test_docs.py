"""The README documents every setting, and its two commands exist."""

from __future__ import annotations

from pathlib import Path

from connectorhub.config import Settings

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    for name in Settings.model_fields:
        assert f"`CONNECTORHUB_{name.upper()}`" in README, (
            f"CONNECTORHUB_{name.upper()} is not documented"
        )


def test_the_two_commands_exist_and_ci_calls_the_test_one():
    assert "scripts/serve.sh" in README and "scripts/test.sh" in README
    assert (ROOT / "scripts/serve.sh").stat().st_mode & 0o111
    assert "scripts/test.sh" in (ROOT / ".ci/run").read_text()
