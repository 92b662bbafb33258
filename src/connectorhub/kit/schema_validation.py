"""JSON Schema validation that answers with the spec's error map `{"field.path": [messages]}`."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

_FORMAT_CHECKER = FormatChecker()
_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")


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
                return "Must be a full URL, such as https://example.com."
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
