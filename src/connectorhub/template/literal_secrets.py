"""Templates never carry credentials: find literal secrets in a definition before it is saved.

Three signs: a value under a secret-bearing name (an `Authorization` header, an `api_key` query
parameter, a bearer token, a basic password) that holds literal text instead of a placeholder;
a string shaped like a known key format anywhere; a password inside a URL.
"""

from __future__ import annotations

import re
from typing import Any

from connectorhub.definition.placeholders import iter_strings

_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
# Header, query and body names whose values are secrets.
_SECRET_NAME = re.compile(
    r"(?i)^(authorization|proxy-authorization|cookie)$|api[-_]?key|apikey|token|secret|passw"
    r"|^key$|[-_]key$|signature|^sig$|credential|session[-_]?id"
)
# What may stay literal beside a placeholder in such a value: an auth scheme word.
_SCHEME_ONLY = re.compile(r"(?i)^\s*(bearer|basic|token|bot|digest|oauth|apikey|key|sso-key)?\s*$")
_KEY_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("an OpenAI-style key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
    ),
    ("a password in a URL", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/@\s:{}]+:[^/@\s{}]+@")),
]
# A long run of letters and digits mixing cases and digits reads as a generated key.
_RANDOM_RUN = re.compile(r"[A-Za-z0-9_\-]{32,}")
ADVICE = "use a placeholder instead, such as {{workspace.<credential>}} or {{secrets.<field>}}"


def _looks_generated(text: str) -> bool:
    for run in _RANDOM_RUN.findall(_PLACEHOLDER.sub(" ", text)):
        classes = sum(
            (
                any(c.islower() for c in run),
                any(c.isupper() for c in run),
                any(c.isdigit() for c in run),
            )
        )
        if classes == 3 and len(set(run)) >= 16:
            return True
    return False


def _literal_left(value: str) -> bool:
    """Whether a secret-bearing value holds more than placeholders and a scheme word."""
    return not _SCHEME_ONLY.match(_PLACEHOLDER.sub("", value))


def _named_secret_errors(values: dict[str, Any], path: str, errors: dict[str, list[str]]) -> None:
    for name, value in values.items():
        if _SECRET_NAME.search(str(name)):
            for where, text in iter_strings(value, f"{path}.{name}"):
                if _literal_left(text):
                    errors.setdefault(where, []).append(f"A literal secret in {name!r}: {ADVICE}.")
        elif isinstance(value, dict):
            _named_secret_errors(value, f"{path}.{name}", errors)


def literal_secret_errors(
    definition: dict[str, Any], default_config: dict[str, Any]
) -> dict[str, list[str]]:
    """An error map (path → messages) of every literal secret; empty when there is none."""
    errors: dict[str, list[str]] = {}
    for index, step in enumerate(definition.get("steps") or []):
        path = f"definition.steps[{index}]"
        for part in ("headers", "query"):
            _named_secret_errors(step.get(part) or {}, f"{path}.{part}", errors)
        if isinstance(step.get("body"), dict):
            _named_secret_errors(step["body"], f"{path}.body", errors)
        auth = step.get("auth") or {}
        for field in ("token", "password", "value"):
            if isinstance(auth.get(field), str) and _literal_left(auth[field]):
                errors.setdefault(f"{path}.auth.{field}", []).append(
                    f"The {auth.get('type', '')} auth {field} is literal: {ADVICE}."
                )
    _named_secret_errors(default_config, "default_config", errors)
    for root, value in (("definition", definition), ("default_config", default_config)):
        for where, text in iter_strings(value, root):
            for label, shape in _KEY_SHAPES:
                if shape.search(text):
                    errors.setdefault(where, []).append(f"This looks like {label}: {ADVICE}.")
                    break
            else:
                if _looks_generated(text) and where not in errors:
                    errors.setdefault(where, []).append(
                        f"This looks like a generated key or token: {ADVICE}."
                    )
    return {path: list(dict.fromkeys(messages)) for path, messages in errors.items()}
