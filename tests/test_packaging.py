"""pyproject.toml asks only for what exists: every extra of a dependency is one the installed
distribution provides (pip only warns about an unknown one, on every install)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
REQUIREMENTS = [
    Requirement(line)
    for line in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]
]


@pytest.mark.parametrize("requirement", [r for r in REQUIREMENTS if r.extras], ids=lambda r: r.name)
def test_every_extra_asked_for_exists(requirement):
    try:
        provided = metadata(requirement.name).get_all("Provides-Extra") or []
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is not installed")
    assert requirement.extras <= set(provided), (
        f"{requirement.name} has no extra {sorted(requirement.extras - set(provided))}"
    )
