"""The slow tap's fixtures (tests/sync/conftest.py), for the draft test's source discovery."""

from tests.sync.conftest import slow_tap_catalog, slow_tap_entry  # noqa: F401
