"""Masking secrets by value, the way CI systems do: every secret a run knows is replaced wherever
it shows up in text meant for records, outputs, errors and logs, also in the forms it takes when
something echoes it back (JSON- or repr-escaped, URL-encoded, base64 as in basic auth).

Domain-free: executions, syncs and publications each build one mask from what they hold.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Shorter values would mask ordinary words and digits ("on", "1234" is still masked).
MIN_LENGTH = 4


def _escaped_forms(secret: str) -> set[str]:
    """The raw value and what serialisers and transports turn it into."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],  # \" \\ \n and \uXXXX for non-ASCII
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],  # a Python traceback or log line
        ascii(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    # Escaped twice: a JSON document carried as a string inside another one.
    forms.add(json.dumps(json.dumps(secret)[1:-1])[1:-1])
    raw = secret.encode()
    forms.update({base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()})
    return {form for form in forms if len(form) >= MIN_LENGTH}


class SecretMask:
    """The secrets one run knows, and the means to scrub them from anything it records."""

    def __init__(self, secrets: Any = None) -> None:
        self._raw: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        if secrets is not None:
            self.add(secrets)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def add(self, value: Any) -> None:
        """Every string (and number) inside `value`, at any depth, becomes a secret."""
        for text in _strings(value):
            if len(text) >= MIN_LENGTH and text not in self._raw:
                self._raw.add(text)
                self._forms |= _escaped_forms(text)
                self._pattern = None

    def add_basic_auth(self, username: str, password: str) -> None:
        """The base64 pair an Authorization: Basic header carries (the parts alone are added
        too: a server may echo either)."""
        self.add([username, password] if password else [])
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        if pair not in self._forms:
            self._forms.add(pair)
            self._pattern = None

    def log_exception(self, log: logging.Logger, message: str, *args: Any) -> None:
        """`log.exception`, with every secret masked in the message and the traceback."""
        log.error("%s\n%s", self.text(message % args), self.text(traceback.format_exc().rstrip()))

    def text(self, text: str) -> str:
        if not self._forms or not text:
            return text
        if self._pattern is None:
            # Longest first: a secret that contains another is masked whole.
            ordered = sorted(self._forms, key=lambda form: (-len(form), form))
            self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON value with every secret masked in its strings, keys included; a
        number that is a secret (a PIN) is masked whole."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return REDACTED if str(value) in self._raw else value
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        return value


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
