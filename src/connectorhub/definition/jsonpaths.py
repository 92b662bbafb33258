"""JSONPath as definitions use it (RFC 9535, python-jsonpath), with the two functions that run
a user's regular expression — `match` and `search` — bounded: each call may take
REGEX_SECONDS, then the extract fails instead of freezing the process (a pattern such as
`(a|a)+$` backtracks exponentially). Patterns run on the `regex` engine, which takes a timeout;
the runner evaluates extracts off the event loop as well."""

from __future__ import annotations

from typing import Any

from jsonpath import JSONPathEnvironment
from jsonpath.function_extensions import Match, Search

REGEX_SECONDS = 0.1


class PatternTooSlow(Exception):
    """A filter's regular expression ran past REGEX_SECONDS on a value."""

    def __init__(self, pattern: str):
        super().__init__(pattern)
        self.pattern = pattern


def _bounded(function: Match | Search, value: object, pattern: object, method: str) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    compiled = function.check_cache(pattern)
    if compiled is None:
        return False
    try:
        return bool(getattr(compiled, method)(value, timeout=REGEX_SECONDS))
    except TimeoutError:
        raise PatternTooSlow(pattern) from None


class _BoundedMatch(Match):
    def __call__(self, value: object, pattern: object) -> bool:
        return _bounded(self, value, pattern, "fullmatch")


class _BoundedSearch(Search):
    def __call__(self, value: object, pattern: object) -> bool:
        return _bounded(self, value, pattern, "search")


class _Environment(JSONPathEnvironment):
    def setup_function_extensions(self) -> None:
        super().setup_function_extensions()
        self.function_extensions["match"] = _BoundedMatch()
        self.function_extensions["search"] = _BoundedSearch()


ENVIRONMENT = _Environment()


def compile_path(expression: str) -> Any:
    """Raises jsonpath.JSONPathError."""
    return ENVIRONMENT.compile(expression)
