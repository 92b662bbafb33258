"""Publishing tests share the real WordPress of tests/conftest.py (`wordpress`)."""
