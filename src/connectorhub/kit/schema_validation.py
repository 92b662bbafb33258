"""JSON Schema validation that answers with the spec's error map `{"field.path": [messages]}`.

`format: uri` means a web address here, as its message says: jsonschema's own check takes any
scheme (`ftp://x`, `mailto:a@b`), which no connector can call.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from rfc3986_validator import validate_rfc3986

_FORMAT_CHECKER = FormatChecker()
_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")
WEB_SCHEMES = frozenset({"http", "https"})
URI_MESSAGE = "Must be a full URL, such as https://example.com."


@_FORMAT_CHECKER.checks("uri")
def is_web_url(value: object) -> bool:
    """An absolute http(s) URL with a host (RFC 3986). Not a string: another keyword's concern."""
    if not isinstance(value, str):
        return True
    if not validate_rfc3986(value, rule="URI"):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def _join(prefix: str, parts: Iterable[Any]) -> str:
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _friendly(error: ValidationError) -> str:
    value = error.validator_value
    match error.validator:
        case "required":
            return "This field is required."
        case "minLength":
            return f"Must be at least {value} characters."
        case "maxLength":
            return f"Must be at most {value} characters."
        case "minItems":
            return f"Must have at least {value} items."
        case "maxItems":
            return f"Must have at most {value} items."
        case "minimum":
            return f"Must be at least {value}."
        case "maximum":
            return f"Must be at most {value}."
        case "enum":
            return "Must be one of: " + ", ".join(str(v) for v in value) + "."
        case "format":
            if value == "uri":
                return URI_MESSAGE
            return f"Must be a valid {value}."
        case "type":
            kinds = value if isinstance(value, list) else [value]
            return "Must be " + " or ".join(f"{_article(k)} {k}" for k in kinds) + "."
        case "pattern":
            return "Does not have the expected format."
        case "additionalProperties":
            return "Unknown field."
        case _:
            return _without_value(error)


def _without_value(error: ValidationError) -> str:
    """jsonschema's own message with the value left out: it may be a secret (a writeOnly input)
    or hold one, and messages are shown in forms and returned by the API."""
    value, message = repr(error.instance), error.message
    if message.startswith(value):
        return "The value" + message[len(value) :] + "."
    if message.endswith(value):
        return message[: -len(value)] + "this value."
    return message if value not in message else "Is not valid."


@lru_cache(maxsize=256)
def _validator_for(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMAT_CHECKER)


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    """A cached validator (catalog schemas repeat on every request)."""
    return _validator_for(json.dumps(schema, sort_keys=True))


def error_map(instance: Any, schema: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """Validate `instance`; return `{path: [messages]}` (empty when valid)."""
    errors: dict[str, list[str]] = defaultdict(list)
    for error in validator_for(schema).iter_errors(instance):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            if missing:
                path.append(missing.group(1))
        elif error.validator == "additionalProperties":
            unexpected = _UNEXPECTED.search(error.message)
            if unexpected:
                for name in unexpected.group(1).split("', '"):
                    errors[_join(prefix, [*path, name])].append(_friendly(error))
                continue
        key = _join(prefix, path) or "$"
        message = _friendly(error)
        if message not in errors[key]:
            errors[key].append(message)
    return dict(errors)
