"""Rendering one step's request from its templates: which parts carry secrets (redacted in
records), which workspace credentials it uses (each only to its allowed hosts), the stable
Idempotency-Key a write carries, and the summary a step record keeps."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from connectorhub.definition import placeholders
from connectorhub.definition.model import Step
from connectorhub.definition.values import RunValues
from connectorhub.kit.masking import REDACTED, SecretMask

_SENSITIVE_ROOTS = {"secrets", "workspace"}
IDEMPOTENCY_HEADER = "Idempotency-Key"
_SAFE_METHODS = {"GET", "HEAD"}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any
    sensitive_headers: set[str]
    sensitive_query: set[str]
    sensitive_body: bool
    credentials: set[str]  # workspace credentials this request carries
    sensitive_url: bool = False  # its path or query was rendered from a secret

    def without_credentials(self) -> Request:
        return replace(self, credentials=set())


def idempotency_key(run_id: uuid.UUID, index: int) -> str:
    """The same for every attempt and retry of one step of one run, different for any other
    (providers that honour it drop a repeat of a write they already did)."""
    return str(uuid.uuid5(run_id, f"step-{index + 1}"))


class _StepRenderer:
    """Each part is rendered in a context of its own, which tells whether it used a secret and
    which workspace credentials it used."""

    def __init__(self, values: dict[str, Any], sensitive_steps, run_values: RunValues,
                 mask: SecretMask):  # fmt: skip
        self.values, self.sensitive_steps, self.run_values = values, sensitive_steps, run_values
        self.mask = mask
        self.credentials: set[str] = set()

    def part(self, render: Callable[[placeholders.Context], Any]) -> tuple[Any, bool]:
        """`render` in a fresh context: the value, and whether it carries a secret."""
        ctx = placeholders.Context(self.values)
        value = render(ctx)
        return value, self._sensitive(ctx)

    def _sensitive(self, ctx: placeholders.Context) -> bool:
        sensitive = False
        for reference in ctx.used:  # every reference: each workspace credential must be seen
            if reference.root == "workspace" and reference.segments:
                self.credentials.add(str(reference.segments[0]))
            if reference.root in _SENSITIVE_ROOTS or (
                reference.root == "input" and self.run_values.is_secret_input(reference.segments)
            ):
                sensitive = True
            step_name, field_name = _step_field(reference)
            if step_name is not None and field_name in self.sensitive_steps.get(step_name, set()):
                sensitive = True
        return sensitive

    def url(self, step: Step) -> tuple[str, bool]:
        """The step's absolute URL, and whether a secret went into it."""
        url, sensitive = self.part(lambda ctx: placeholders.render_url(step.url, ctx))
        if urlsplit(url).scheme:
            return url, sensitive
        base = self.values["config"].get("base_url")
        if not isinstance(base, str):
            raise placeholders.PlaceholderError(
                f"the URL {step.url!r} is relative and the connector has no base_url"
            )
        return base.rstrip("/") + "/" + url.lstrip("/"), sensitive

    def auth(self, auth: Any, request: Request) -> None:
        """Add the step's auth to `request`'s headers or query, always as sensitive."""
        if auth.type == "bearer":
            token, _ = self.part(lambda ctx: placeholders.render_header(auth.token, ctx))
            request.headers["Authorization"] = "Bearer " + token
            request.sensitive_headers.add("Authorization")
            self.mask.add(token)
        elif auth.type == "basic":
            (username, password), _ = self.part(
                lambda ctx: (
                    placeholders.render_text(auth.username, ctx),
                    placeholders.render_text(auth.password, ctx),
                )
            )
            request.headers["Authorization"] = aiohttp.encode_basic_auth(username, password)
            request.sensitive_headers.add("Authorization")
            self.mask.add_basic_auth(username, password)
        elif auth.location == "header":
            request.headers[auth.name], _ = self.part(
                lambda ctx: placeholders.render_header(auth.value, ctx, f"header {auth.name}")
            )
            request.sensitive_headers.add(auth.name)
            self.mask.add(request.headers[auth.name])
        else:
            request.query[auth.name], _ = self.part(
                lambda ctx: placeholders.render_text(auth.value, ctx)
            )
            request.sensitive_query.add(auth.name)
            self.mask.add(request.query[auth.name])


def render(
    step: Step, values: dict[str, Any], sensitive_steps, run_values: RunValues,
    mask: SecretMask, *, idempotency: str | None = None,
) -> Request:  # fmt: skip
    """Render one step's request; note which parts carry secrets and which credentials. A write
    (not GET/HEAD) carries `idempotency` as its Idempotency-Key unless it sets one itself.
    Whatever its auth sends is added to `mask`."""
    renderer = _StepRenderer(values, sensitive_steps, run_values, mask)
    url, sensitive_url = renderer.url(step)
    request = Request(
        method=step.method, url=url, headers={}, query={}, body=None,
        sensitive_headers=set(), sensitive_query=set(), sensitive_body=False, credentials=set(),
        sensitive_url=sensitive_url,
    )  # fmt: skip
    # The connector's default headers are literal config values, not templates.
    for name, value in (values["config"].get("default_headers") or {}).items():
        if isinstance(value, str):
            request.headers[name] = _literal_header(name, value)
    for name, template in step.headers.items():
        request.headers[name], sensitive = renderer.part(
            lambda ctx, t=template, n=name: placeholders.render_header(t, ctx, f"header {n}")
        )
        if sensitive:
            request.sensitive_headers.add(name)
    for name, template in step.query.items():
        value, sensitive = renderer.part(lambda ctx, t=template: placeholders.render_text(t, ctx))
        if value == "" and template != "":
            continue  # an optional input left empty: the parameter is left out, not sent empty
        request.query[name] = value
        if sensitive:
            request.sensitive_query.add(name)
    if step.body is not None:
        request.body, request.sensitive_body = renderer.part(
            lambda ctx: placeholders.render_json(step.body, ctx)
        )
    if step.auth is not None:
        renderer.auth(step.auth, request)
    if (
        idempotency is not None
        and step.method not in _SAFE_METHODS
        and not any(name.lower() == IDEMPOTENCY_HEADER.lower() for name in request.headers)
    ):
        request.headers[IDEMPOTENCY_HEADER] = idempotency
    request.credentials = renderer.credentials
    return request


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: credentials never follow a redirect to another origin."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _literal_header(name: str, value: str) -> str:
    if placeholders.header_value_forbidden(value):
        raise placeholders.PlaceholderError(
            f"default header {name}: contains a line break or another control character"
        )
    return value


def _step_field(reference: placeholders.Reference) -> tuple[str | None, Any]:
    if reference.root == "steps" and len(reference.segments) >= 2:
        return str(reference.segments[0]), reference.segments[1]
    if re.fullmatch(r"step_\d+", reference.root) and reference.segments:
        return reference.root, reference.segments[0]
    return None, None


def summary(request: Request, mask: SecretMask) -> dict[str, Any]:
    """What a step sent, safe to store: secret-bearing parts redacted whole, every known
    secret masked by value in the rest."""
    query = {k: (REDACTED if k in request.sensitive_query else v) for k, v in request.query.items()}
    url = request.url
    if request.sensitive_url:  # a secret in the path, however short: only where it went
        parts = urlsplit(url)
        url = f"{parts.scheme}://{parts.netloc}/{REDACTED}"
    return {
        "method": request.method,
        "url": mask.text(url),
        "query": {k: mask.text(v) for k, v in query.items()},
        "headers": {
            k: (REDACTED if k in request.sensitive_headers else mask.text(v))
            for k, v in request.headers.items()
        },
        "body": None if request.body is None else (REDACTED if request.sensitive_body else "json"),
    }
