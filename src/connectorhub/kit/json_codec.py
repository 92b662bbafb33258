"""JSON for database columns: orjson where it can, the standard module where it cannot.

Decoding the JSON columns of a 50-row page took ~9% of a list request's CPU with the standard
module (py-spy, `bench/api_list.py`); orjson is several times faster. It refuses a few things the
standard module accepts, and those fall back to it rather than fail: `NaN`/`Infinity` in stored
text, integers beyond 64 bits, and keys that are not strings.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a 65-bit integer, a non-string key: what json.dumps would have written
        return json.dumps(value)
