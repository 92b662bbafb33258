"""The Singer message parser on hand-made streams."""

from __future__ import annotations

import json
import math

import pytest

from connectorhub.sync.singer import (
    ActivateVersion,
    Record,
    Schema,
    SingerProtocolError,
    State,
    parse_messages,
)

SCHEMA = {"type": "SCHEMA", "stream": "users", "key_properties": ["id"],
          "schema": {"properties": {"id": {"type": "integer"}}}}  # fmt: skip


def lines(*messages) -> list[str]:
    return [m if isinstance(m, str) else json.dumps(m) for m in messages]


def test_a_well_formed_stream():
    parsed = list(
        parse_messages(
            lines(
                SCHEMA,
                {"type": "RECORD", "stream": "users", "record": {"id": 1}},
                "",
                {"type": "STATE", "value": {"bookmarks": {"users": 1}}},
                {"type": "ACTIVATE_VERSION", "stream": "users", "version": 3},
                {"type": "BATCH", "stream": "users"},
            )
        )
    )
    assert [type(m) for m in parsed] == [Schema, Record, State, ActivateVersion]
    assert parsed[0].key_properties == ["id"] and parsed[1].record == {"id": 1}


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (lines(SCHEMA, "{not json"), "line 2: not JSON"),
        (lines({"type": "RECORD", "stream": "users", "record": {}}), "before its SCHEMA"),
        (lines(SCHEMA, {"type": "RECORD", "stream": "users"}), "has no record object"),
        (lines({"no": "type"}), "not a Singer message"),
        (lines({"type": "SCHEMA", "stream": "users"}), "has no schema object"),
        (lines({"type": "STATE"}), "STATE without a value"),
        (lines({**SCHEMA, "key_properties": "id"}), "key_properties must be a list"),
        (lines({**SCHEMA, "stream": "secrets"}), "'secrets' was not selected"),
        (lines({"type": "RECORD", "record": {}}), "without a stream name"),
    ],
)
def test_broken_streams_name_the_line(stream, message):
    with pytest.raises(SingerProtocolError, match=message):
        list(parse_messages(stream, allowed_streams={"users"}))


def test_values_only_pythons_json_writes_still_parse():
    """NaN, Infinity and integers wider than 64 bits (Python taps write them) take the slow path."""
    lines = [
        '{"type": "SCHEMA", "stream": "s", "schema": {"properties": {}}, "key_properties": []}',
        '{"type": "RECORD", "stream": "s", "record": {"x": NaN, "y": -Infinity, '
        '"big": 123456789012345678901234567890}}',
    ]
    record = list(parse_messages(lines))[1]
    assert math.isnan(record.record["x"]) and record.record["y"] == -math.inf
    assert record.record["big"] == 123456789012345678901234567890


def test_records_carry_their_table_version():
    parsed = list(
        parse_messages(lines(SCHEMA, {"type": "ACTIVATE_VERSION", "stream": "users", "version": 9},
                             {"type": "RECORD", "stream": "users", "record": {"id": 1}, "version": 9}))
    )  # fmt: skip
    assert parsed[1] == ActivateVersion("users", 9) and parsed[2].version == 9
