"""The config line of an installed connector's card: shown values decided by the entry's schema."""

from __future__ import annotations

from connectorhub.connector.card_summary import summary

SCHEMA = {
    "type": "object",
    "required": ["host", "database", "api_key", "password", "token"],
    "properties": {
        "host": {"type": "string"},
        "port": {"type": "integer"},
        "database": {"type": "string"},
        "api_key": {"type": "string", "writeOnly": True},
        "password": {"type": "string", "format": "password"},
        "token": {"type": "string", "secret": True},
        "account_label": {"type": "string"},
        "headers": {"type": "object"},
    },
}


def test_required_and_label_values_in_schema_order_never_a_secret():
    config = {
        "host": "db.example.com", "port": 5432, "database": "shop", "api_key": "k-1",
        "password": "p-2", "token": "t-3", "account_label": "Shop DB", "headers": {"a": "b"},
    }  # fmt: skip
    line = summary(SCHEMA, config)
    assert line == "db.example.com · shop · Shop DB"
    assert not {"k-1", "p-2", "t-3"} & set(line.split(" · "))


def test_nothing_to_say_is_an_empty_line():
    assert summary(SCHEMA, {}) == "" and summary({}, {"host": "x"}) == ""
