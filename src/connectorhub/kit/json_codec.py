"""Decoding JSON columns: orjson where that gives the same values, the standard module otherwise.

Decoding the JSON columns of a 50-row page took ~9% of a list request's CPU with the standard
module (py-spy, `bench/api_list.py`); orjson is several times faster. It differs in ways that
would change stored data, so: text it refuses (`NaN`, `Infinity`) goes to the standard module,
and so does text with a run of 19 or more digits, since orjson reads an integer beyond 64 bits
as an inexact float instead of refusing it. Encoding is left to the standard module: orjson
writes NaN as `null` without a word and accepts datetimes, UUIDs and dataclasses that are
refused today; writes are few beside reads.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(text: str | bytes) -> Any:
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if _LONG_NUMBER.search(raw):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
