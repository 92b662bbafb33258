"""The Singer message stream a tap writes: SCHEMA, RECORD, STATE, ACTIVATE_VERSION, one JSON
object per line. Parsing is strict: a bad line, a RECORD before its stream's SCHEMA or for a
stream the catalog did not select is an error naming the line, so nothing is loaded from a
stream we cannot trust."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson


class SingerProtocolError(Exception):
    def __init__(self, line_number: int, message: str):
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number


@dataclass
class Schema:
    stream: str
    schema: dict[str, Any]
    key_properties: list[str]
    bookmark_properties: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Record:
    stream: str
    record: dict[str, Any]
    version: int | None = None  # the table version of a full-table read (ACTIVATE_VERSION)


@dataclass
class State:
    value: dict[str, Any]


@dataclass
class ActivateVersion:
    stream: str
    version: int


Message = Schema | Record | State | ActivateVersion


class SingerParser:
    """Parses one line at a time (a tap's stdout as it comes), remembering each stream's SCHEMA."""

    def __init__(self, allowed_streams: set[str] | None = None):
        self.allowed = allowed_streams
        self.schemas: dict[str, Schema] = {}
        self.line_number = 0

    def parse(self, raw: bytes | str) -> Message | None:
        """The message on this line (None for a blank line or a type we do not use).
        Raises SingerProtocolError."""
        self.line_number += 1
        number = self.line_number
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if not raw.strip():
                return None
            # orjson refuses what Python's json module writes by default and some taps send
            # (NaN, Infinity, integers wider than 64 bits): the slower parser takes those.
            try:
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                message = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SingerProtocolError(number, f"not JSON ({exc.msg})") from None
        if message.__class__ is dict and message.get("type") == "RECORD":
            # Nearly every line: the checks the general path makes, in their cheapest form.
            # (self.schemas holds only allowed streams; a wrong one takes the general path for
            # its error message.)
            record, stream = message.get("record"), message.get("stream")
            if record.__class__ is dict and stream.__class__ is str and stream in self.schemas:
                version = message.get("version")
                return Record(stream, record, version if version.__class__ is int else None)
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise SingerProtocolError(number, "not a Singer message (no type)")
        kind = message["type"].upper()
        if kind == "SCHEMA":
            stream = _stream(message, number, self.allowed)
            schema = message.get("schema")
            if not isinstance(schema, dict):
                raise SingerProtocolError(number, f"SCHEMA for {stream!r} has no schema object")
            keys = message.get("key_properties") or []
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise SingerProtocolError(number, "key_properties must be a list of names")
            self.schemas[stream] = Schema(
                stream, schema, keys, list(message.get("bookmark_properties") or [])
            )
            return self.schemas[stream]
        if kind == "RECORD":
            stream = _stream(message, number, self.allowed)
            if stream not in self.schemas:
                raise SingerProtocolError(number, f"RECORD for {stream!r} before its SCHEMA")
            record = message.get("record")
            if not isinstance(record, dict):
                raise SingerProtocolError(number, f"RECORD for {stream!r} has no record object")
            version = message.get("version")
            return Record(stream, record, version if isinstance(version, int) else None)
        if kind == "STATE":
            value = message.get("value")
            if not isinstance(value, dict):
                raise SingerProtocolError(number, "STATE without a value object")
            return State(value)
        if kind == "ACTIVATE_VERSION":
            stream = _stream(message, number, self.allowed)
            return ActivateVersion(stream, int(message.get("version") or 0))
        return None  # other types (BATCH, …) are not used by the taps we run; Singer allows it


def parse_messages(
    lines: Iterable[bytes | str], *, allowed_streams: set[str] | None = None
) -> Iterator[Message]:
    """Messages in order. Raises SingerProtocolError on the first line that breaks the protocol."""
    parser = SingerParser(allowed_streams)
    for line in lines:
        message = parser.parse(line)
        if message is not None:
            yield message


def _stream(message: dict[str, Any], number: int, allowed: set[str] | None) -> str:
    stream = message.get("stream")
    if not isinstance(stream, str) or not stream:
        raise SingerProtocolError(number, f"{message['type']} without a stream name")
    if allowed is not None and stream not in allowed:
        raise SingerProtocolError(number, f"stream {stream!r} was not selected")
    return stream
