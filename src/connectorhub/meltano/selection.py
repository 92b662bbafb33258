"""Meltano's `select` patterns (`stream.property`, globs, `!` to leave out) and `metadata`
replication settings, turned into a source connector's stream choices and back.

The hub syncs whole streams: a pattern's property part only decides whether the stream is
in (`users.email` selects `users`); leaving out a whole stream takes `!users.*`."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def _split(pattern: str) -> tuple[bool, str, str]:
    excluded = pattern.startswith("!")
    stream, _, prop = pattern.removeprefix("!").partition(".")
    return excluded, stream, prop or "*"


def is_literal(patterns: list[str]) -> bool:
    """Whether the patterns name their streams outright (no glob in any stream part)."""
    return all(not set(_split(p)[1]) & set("*?[") for p in patterns)


def selected(patterns: list[str], stream_names: list[str]) -> list[str]:
    """The streams the patterns select, in the given order."""
    chosen = []
    for name in stream_names:
        included = excluded = False
        for pattern in patterns:
            leave_out, stream, prop = _split(pattern)
            if not fnmatchcase(name, stream):
                continue
            if leave_out and prop == "*":
                excluded = True
            elif not leave_out:
                included = True
        if included and not excluded:
            chosen.append(name)
    return chosen


def literal_streams(patterns: list[str]) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        leave_out, stream, _ = _split(pattern)
        if not leave_out and stream not in names:
            names.append(stream)
    return selected(patterns, names)


def replication(metadata: dict[str, Any], name: str) -> dict[str, Any]:
    """The choice for one stream from the metadata entries whose pattern matches it."""
    settings: dict[str, Any] = {}
    for pattern, values in metadata.items():
        if fnmatchcase(name, str(pattern)) and isinstance(values, dict):
            settings.update(values)
    method = str(settings.get("replication-method") or "FULL_TABLE").upper()
    key = settings.get("replication-key")
    if method == "INCREMENTAL" and isinstance(key, str):
        return {"name": name, "replication_method": "INCREMENTAL", "replication_key": key}
    return {"name": name, "replication_method": "FULL_TABLE", "replication_key": None}


def choices(patterns: list[str], metadata: dict[str, Any], stream_names: list[str]) -> list:
    """The connector's `selected_streams` for these discovered (or named) streams."""
    return [replication(metadata, name) for name in selected(patterns, stream_names)]


def patterns_of(streams: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """A connector's stream choices as Meltano `select` patterns and `metadata`."""
    select = [f"{s['name']}.*" for s in streams]
    metadata = {
        s["name"]: {"replication-method": s["replication_method"]}
        | ({"replication-key": s["replication_key"]} if s.get("replication_key") else {})
        for s in streams
    }
    return select, metadata
