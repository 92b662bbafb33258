"""Password hashing: the tests' cheap argon2 cost is never what production gets."""

from __future__ import annotations

from argon2 import PasswordHasher

from connectorhub.auth import passwords


def test_the_cheap_test_cost_is_refused_in_production(monkeypatch):
    default = PasswordHasher()
    monkeypatch.setenv(passwords.CHEAP_FOR_TESTS_ENV, "1")
    monkeypatch.setenv("CONNECTORHUB_ENV", "production")
    production = passwords._make_hasher()
    assert (production.time_cost, production.memory_cost) == (
        default.time_cost,
        default.memory_cost,
    )
    monkeypatch.delenv(passwords.CHEAP_FOR_TESTS_ENV)
    monkeypatch.delenv("CONNECTORHUB_ENV")
    assert passwords._make_hasher().memory_cost == default.memory_cost  # no variable: default
    monkeypatch.setenv(passwords.CHEAP_FOR_TESTS_ENV, "1")
    assert passwords._make_hasher().time_cost == 1  # what the tests run with
