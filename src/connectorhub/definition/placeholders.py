"""Placeholder substitution for HTTP step definitions: `{{root.name[0].key}}`, never code.

A placeholder is a root name followed by `.name` and `[index]` segments, nothing else: no
expressions, filters, calls or attribute access. Values are looked up in plain dicts and lists
only, so `{{input.__class__}}` is a missing key, not a Python attribute. Substitution is one pass:
the text a placeholder produces is never scanned again, so `{{` inside a response value is data.
Where a value lands decides how it is encoded (see `render_url`, `render_header`, `render_json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

# `{{`, optional spaces or tabs, a root name, then `.name` / `[123]` segments, optional blanks, `}}`.
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_PLACEHOLDER = re.compile(
    r"\{\{[ \t]*(?P<path>" + _NAME + r"(?:\." + _NAME + r"|\[\d{1,6}\])*)[ \t]*\}\}"
)
_SEGMENT = re.compile(r"\.(" + _NAME + r")|\[(\d+)\]")
_HEADER_FORBIDDEN = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f]"
)  # RFC 9110 field-value: no controls but HTAB
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


class PlaceholderError(ValueError):
    """A template string is malformed, or a placeholder names a value that is not there."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed placeholder: `root` and the segments after it (names as str, indexes as int)."""

    text: str
    root: str
    segments: tuple[str | int, ...]


def _parse_path(path: str) -> Reference:
    root_end = re.match(_NAME, path).end()  # type: ignore[union-attr]
    segments: list[str | int] = []
    for match in _SEGMENT.finditer(path, root_end):
        name, index = match.groups()
        segments.append(name if name is not None else int(index))
    return Reference(text=path, root=path[:root_end], segments=tuple(segments))


def parse(template: str) -> list[Reference]:
    """The placeholders in `template`, in order. Raises PlaceholderError on any stray `{{` or `}}`."""
    references = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        _refuse_stray_braces(template[position : match.start()])
        # `{{{x}}` or `{{x}}}`: an odd brace against a placeholder is ambiguous, so refused.
        if template[match.start() - 1 : match.start()] == "{" or (
            template[match.end() : match.end() + 1] == "}"
        ):
            raise PlaceholderError(f"malformed placeholder: stray brace around {match.group(0)!r}")
        references.append(_parse_path(match.group("path")))
        position = match.end()
    _refuse_stray_braces(template[position:])
    return references


def _refuse_stray_braces(literal: str) -> None:
    if "{{" in literal or "}}" in literal:
        fragment = literal[literal.find("{{") if "{{" in literal else literal.find("}}") :][:40]
        raise PlaceholderError(
            f"malformed placeholder near {fragment!r}: use {{{{root.name}}}} with only "
            "names, .key and [index]"
        )


def _whole(template: str) -> Reference | None:
    """The reference when the template is exactly one placeholder (its value keeps its type)."""
    match = _PLACEHOLDER.fullmatch(template)
    return _parse_path(match.group("path")) if match else None


class Context:
    """The values placeholders may reach: a mapping of root name to plain JSON data.

    `used_roots` records which top-level names were read (the runner uses it to know whether a
    request carries a workspace credential, which may only go to that credential's hosts).
    """

    def __init__(self, values: Mapping[str, Any]):
        self._values = values
        self.used: list[Reference] = []

    def lookup(self, reference: Reference) -> Any:
        if reference.root not in self._values:
            raise PlaceholderError(f"{{{{{reference.text}}}}}: unknown name {reference.root!r}")
        value = self._values[reference.root]
        walked = reference.root
        for segment in reference.segments:
            # Only dict keys and list indexes: never getattr, so no dunder or method is reachable.
            by_key = isinstance(segment, str) and isinstance(value, dict) and segment in value
            by_index = isinstance(segment, int) and isinstance(value, list) and segment < len(value)
            if by_key or by_index:
                value = value[segment]
            else:
                shown = f".{segment}" if isinstance(segment, str) else f"[{segment}]"
                raise PlaceholderError(f"{{{{{reference.text}}}}}: {walked} has no {shown}")
            walked += f".{segment}" if isinstance(segment, str) else f"[{segment}]"
        self.used.append(reference)
        return value


def _as_text(value: Any) -> str:
    """How a value reads inside a longer string: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _substitute(template: str, context: Context, encode) -> str:
    parse(template)  # refuses stray braces before anything is looked up
    return _PLACEHOLDER.sub(
        lambda m: encode(_as_text(context.lookup(_parse_path(m.group("path"))))), template
    )


def render_text(template: str, context: Context) -> str:
    """Plain substitution into a string (query values, auth fields: encoded later by the client)."""
    return _substitute(template, context, lambda text: text)


def header_value_forbidden(value: str) -> bool:
    return _HEADER_FORBIDDEN.search(value) is not None


def render_header(template: str, context: Context, name: str = "header") -> str:
    """A header value. Control characters (CR and LF above all) are refused: a value may never
    start another header, nor be one a server rejects."""
    value = render_text(template, context)
    if _HEADER_FORBIDDEN.search(value):
        raise PlaceholderError(
            f"{name}: the value contains a line break or another control character, which is refused"
        )
    return value


def render_url(template: str, context: Context) -> str:
    """A URL. Placeholders in it are percent-encoded (a value cannot add a path, query or host),
    except one that opens the URL, which must itself be a whole http(s) base URL such as
    `{{config.base_url}}/v1/items`."""
    parse(template)
    authority = _AUTHORITY.match(template)
    if authority and "{{" in authority.group(1):
        raise PlaceholderError("a placeholder may not form part of the URL's host")
    leading = _PLACEHOLDER.match(template)
    prefix = ""
    rest = template
    if leading:
        base = context.lookup(_parse_path(leading.group("path")))
        prefix = _checked_base_url(base, leading.group("path"))
        rest = template[leading.end() :]
        if rest and rest[0] not in "/?#":
            # `{{config.base_url}}{{input.x}}` must not let input extend the host.
            raise PlaceholderError("a base URL placeholder must be followed by /, ? or #")
    return prefix + _substitute(rest, context, lambda text: quote(text, safe=""))


def _checked_base_url(value: Any, path: str) -> str:
    if not isinstance(value, str) or _HEADER_FORBIDDEN.search(value) or " " in value:
        raise PlaceholderError(f"{{{{{path}}}}} must be an http(s) URL to start the step's URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlaceholderError(f"{{{{{path}}}}} must be an http(s) URL to start the step's URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PlaceholderError(
            f"{{{{{path}}}}} must be a base URL without credentials, query or fragment"
        )
    return value.rstrip("/")


def render_json(template: Any, context: Context) -> Any:
    """A JSON value built structurally: object keys stay literal; a string that is exactly one
    placeholder becomes that value with its JSON type; other strings are substituted as text."""
    if isinstance(template, str):
        whole = _whole(template)
        if whole is not None:
            return context.lookup(whole)
        return render_text(template, context)
    if isinstance(template, list):
        return [render_json(item, context) for item in template]
    if isinstance(template, dict):
        return {key: render_json(value, context) for key, value in template.items()}
    return template


def iter_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a JSON value, with its path (for checking a definition when saved)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, f"{path}.{key}")
