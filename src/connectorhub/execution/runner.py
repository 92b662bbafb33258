"""Runs a definition's steps over HTTP: render, guard, send, retry, extract, record.

Knows nothing of the database: the caller gives it the values placeholders may reach and a
callback that persists each step record; it returns the output or raises a DriverError.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from fnmatch import fnmatch
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp

from connectorhub.definition import placeholders
from connectorhub.definition.model import Definition, Step
from connectorhub.definition.values import RunValues
from connectorhub.execution.responses import extract, raise_for_status, read_body
from connectorhub.kit.driver_errors import (
    AuthFailed,
    DriverError,
    FatalError,
    RetriableError,
)
from connectorhub.kit.outbound import backoff_delay
from connectorhub.kit.ssrf import AddressPolicy, BlockedAddress

MAX_REDIRECTS = 5
REDACTED = "[redacted]"
# Extracted fields with names like these hold secrets (a login step's token): never recorded.
_SENSITIVE_FIELD = re.compile(r"token|secret|password|passwd|key|auth|session|cookie", re.I)
_SENSITIVE_ROOTS = {"secrets", "workspace"}


@dataclass
class StepRecord:
    name: str
    status: str = "running"  # running | succeeded | failed
    attempt: int = 1
    request: dict[str, Any] | None = None
    status_code: int | None = None
    duration_ms: float | None = None
    extracted: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


OnStep = Callable[[int, StepRecord], Awaitable[None]]


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any
    sensitive_headers: set[str]
    sensitive_query: set[str]
    sensitive_body: bool
    credentials: set[str]  # workspace credentials this request carries


# Renews a workspace credential the provider refused: (name, refused value) → the new value.
Renew = Callable[[str, Any], Awaitable[Any]]


class Runner:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        renew: Renew | None = None,
    ):
        self.session = session
        self.policy = policy
        self.sleep = sleep
        self.renew = renew

    async def run(
        self, definition: Definition, values: RunValues, on_step: OnStep | None = None
    ) -> dict[str, Any]:
        """Run every step in order; returns the output. Raises DriverError from the first
        failing step (after its retries), its record already marked failed."""
        context_values: dict[str, Any] = {
            "input": values.input,
            "config": values.config,
            "secrets": values.secrets,
            "workspace": {name: cred.value for name, cred in values.workspace.items()},
            "steps": {},
        }
        redactor = _Redactor()
        redactor.add(values.secrets)
        redactor.add([cred.value for cred in values.workspace.values()])
        redactor.add([values.input[name] for name in values.secret_inputs if name in values.input])
        sensitive_steps: dict[str, set[str]] = {}
        for index, step in enumerate(definition.steps):
            record = StepRecord(name=step.name)
            if on_step:
                await on_step(index, record)
            started = time.perf_counter()
            try:
                try:
                    request = _render(step, context_values, sensitive_steps, values)
                except placeholders.PlaceholderError as error:
                    raise FatalError(f"step {step.name}: {error}") from None
                record.request = request_summary(request, redactor)
                try:
                    extracted = await self._send_with_retries(step, request, values, record)
                except AuthFailed:
                    # A renewable token refused (a 401): renewed once, the step sent once more.
                    if not await self._renewed(
                        request.credentials, values, context_values, redactor
                    ):
                        raise
                    request = _render(step, context_values, sensitive_steps, values)
                    record.request = request_summary(request, redactor)
                    extracted = await self._send_with_retries(step, request, values, record)
            except DriverError as error:
                record.status = "failed"
                record.error = error.message = redactor.redact(error.message)
                error.args = (error.message,)
                record.duration_ms = _ms(started)
                if on_step:
                    await on_step(index, record)
                raise
            secret_fields = {f for f in extracted if _SENSITIVE_FIELD.search(f)}
            sensitive_steps[step.name] = sensitive_steps[f"step_{index + 1}"] = secret_fields
            redactor.add([extracted[f] for f in secret_fields])
            context_values["steps"][step.name] = extracted
            context_values[f"step_{index + 1}"] = extracted
            record.status = "succeeded"
            record.extracted = _shown(extracted, secret_fields)
            record.duration_ms = _ms(started)
            if on_step:
                await on_step(index, record)
        if definition.output is None:
            return {
                name: _shown(values_, sensitive_steps.get(name, set()))
                for name, values_ in context_values["steps"].items()
            }
        try:
            output = placeholders.render_json(
                definition.output, placeholders.Context(context_values)
            )
            return json.loads(redactor.redact(json.dumps(output)))
        except placeholders.PlaceholderError as error:
            raise FatalError(f"output: {redactor.redact(str(error))}") from None

    async def _send_with_retries(
        self, step: Step, request: _Request, values: RunValues, record: StepRecord
    ) -> dict[str, Any]:
        policy = step.retry
        for attempt in range(1, policy.max_attempts + 1):
            record.attempt = attempt
            try:
                return await self._send(step, request, values, record)
            except RetriableError as error:
                if attempt == policy.max_attempts:
                    raise
                wait = backoff_delay(attempt, policy.backoff_seconds, policy.max_backoff_seconds)
                if error.retry_after is not None:
                    if error.retry_after > policy.max_backoff_seconds:
                        raise RetriableError(
                            f"{error.message}; the server asked to wait {error.retry_after:g} s, "
                            f"more than this step's retry cap of {policy.max_backoff_seconds:g} s",
                            status_code=error.status_code,
                            retry_after=error.retry_after,
                        ) from None
                    wait = max(wait, error.retry_after)
                await self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, step: Step, request: _Request, values: RunValues, record: StepRecord
    ) -> dict[str, Any]:
        url, method, body = request.url, request.method, request.body
        headers, query = dict(request.headers), dict(request.query)
        timeout = aiohttp.ClientTimeout(total=step.timeout_seconds)
        for _ in range(MAX_REDIRECTS + 1):
            host = urlsplit(url).hostname or ""
            _check_credential_hosts(request.credentials, host, values)
            try:
                self.policy.check_url(url)
                async with self.session.request(
                    method,
                    url,
                    headers=headers,
                    params=query or None,
                    json=body if body is not None and method not in ("GET", "HEAD") else None,
                    allow_redirects=False,
                    timeout=timeout,
                ) as response:
                    record.status_code = response.status
                    location = response.headers.get("Location")
                    if response.status in (301, 302, 303, 307, 308) and location:
                        next_url = urljoin(str(response.url), location)
                        if _origin(next_url) != _origin(url):
                            # Another host never gets what was meant for this one.
                            headers = {
                                k: v
                                for k, v in headers.items()
                                if k not in request.sensitive_headers
                            }
                            query = {
                                k: v for k, v in query.items() if k not in request.sensitive_query
                            }
                            request = _without_credentials(request)
                        if response.status == 303 or (
                            response.status in (301, 302) and method == "POST"
                        ):
                            method, body = "GET", None
                        elif (
                            body is not None
                            and request.sensitive_body
                            and _origin(next_url) != _origin(url)
                        ):
                            raise FatalError(
                                f"refused to resend a body holding secrets to {next_url}"
                            )
                        url = next_url
                        query = {}  # the Location carries its own query
                        continue
                    payload = await read_body(response)
                    raise_for_status(step, response, payload)
                    # Off the loop: a big document or a filter's regex must not stall other runs.
                    return await asyncio.to_thread(extract, step, response, payload)
            except BlockedAddress as error:
                raise FatalError(str(error)) from None
            except aiohttp.InvalidURL as error:
                raise FatalError(f"invalid URL: {error}") from None
            except ValueError as error:  # a header a placeholder filled with a line break, say
                raise FatalError(f"the request cannot be sent: {error}") from None
            except aiohttp.ClientConnectorError as error:
                if isinstance(error.os_error, BlockedAddress):
                    raise FatalError(str(error.os_error)) from None
                raise RetriableError(f"could not connect to {host}: {error.os_error}") from None
            except TimeoutError:
                raise RetriableError(
                    f"no answer from {host} within {step.timeout_seconds:g} s"
                ) from None
            except aiohttp.ClientError as error:
                raise RetriableError(f"connection to {host} failed: {error}") from None
        raise FatalError(f"more than {MAX_REDIRECTS} redirects")

    async def _renewed(self, names: set[str], values: RunValues, context_values: dict[str, Any],
                       redactor: _Redactor) -> bool:  # fmt: skip
        renewable = [
            n for n in sorted(names) if n in values.workspace and values.workspace[n].renewable
        ]
        if self.renew is None or not renewable:
            return False
        for name in renewable:
            credential = values.workspace[name]
            credential.value = await self.renew(name, credential.value)
            context_values["workspace"][name] = credential.value
            redactor.add([credential.value])
        return True


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _shown(extracted: dict[str, Any], secret_fields: set[str]) -> dict[str, Any]:
    return {k: (REDACTED if k in secret_fields else v) for k, v in extracted.items()}


class _StepRenderer:
    """Renders one step's request. Each part is rendered in a context of its own, which tells
    whether it used a secret (that part is redacted in records) and which workspace
    credentials it used (each may only go to its allowed hosts)."""

    def __init__(self, values: dict[str, Any], sensitive_steps, run_values: RunValues):
        self.values, self.sensitive_steps, self.run_values = values, sensitive_steps, run_values
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
                reference.root == "input"
                and reference.segments
                and (reference.segments[0] in self.run_values.secret_inputs)
            ):
                sensitive = True
            step_name, field_name = _step_field(reference)
            if step_name is not None and field_name in self.sensitive_steps.get(step_name, set()):
                sensitive = True
        return sensitive

    def url(self, step: Step) -> str:
        url, _ = self.part(lambda ctx: placeholders.render_url(step.url, ctx))
        if urlsplit(url).scheme:
            return url
        base = self.values["config"].get("base_url")
        if not isinstance(base, str):
            raise placeholders.PlaceholderError(
                f"the URL {step.url!r} is relative and the connector has no base_url"
            )
        return base.rstrip("/") + "/" + url.lstrip("/")

    def auth(self, auth: Any, request: _Request) -> None:
        """Add the step's auth to `request`'s headers or query, always as sensitive."""
        if auth.type == "bearer":
            token, _ = self.part(lambda ctx: placeholders.render_header(auth.token, ctx))
            request.headers["Authorization"] = "Bearer " + token
            request.sensitive_headers.add("Authorization")
        elif auth.type == "basic":
            (username, password), _ = self.part(
                lambda ctx: (
                    placeholders.render_text(auth.username, ctx),
                    placeholders.render_text(auth.password, ctx),
                )
            )
            request.headers["Authorization"] = aiohttp.encode_basic_auth(username, password)
            request.sensitive_headers.add("Authorization")
        elif auth.location == "header":
            request.headers[auth.name], _ = self.part(
                lambda ctx: placeholders.render_header(auth.value, ctx, f"header {auth.name}")
            )
            request.sensitive_headers.add(auth.name)
        else:
            request.query[auth.name], _ = self.part(
                lambda ctx: placeholders.render_text(auth.value, ctx)
            )
            request.sensitive_query.add(auth.name)


def _render(step: Step, values: dict[str, Any], sensitive_steps, run_values: RunValues) -> _Request:
    """Render one step's request; note which parts carry secrets and which credentials."""
    renderer = _StepRenderer(values, sensitive_steps, run_values)
    request = _Request(
        method=step.method, url=renderer.url(step), headers={}, query={}, body=None,
        sensitive_headers=set(), sensitive_query=set(), sensitive_body=False, credentials=set(),
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
    request.credentials = renderer.credentials
    return request


def _origin(url: str) -> tuple[str, str, int | None]:
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


def _without_credentials(request: _Request) -> _Request:
    return replace(request, credentials=set())


def _host_allowed(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(fnmatch(host, pattern.lower()) for pattern in patterns)


def _check_credential_hosts(credentials: set[str], host: str, values: RunValues) -> None:
    """A workspace credential goes only to the hosts its owner allowed."""
    for name in sorted(credentials):
        credential = values.workspace.get(name)
        if credential is not None and not _host_allowed(host, credential.allowed_hosts):
            allowed = ", ".join(credential.allowed_hosts) or "no host"
            raise FatalError(f"credential {name!r} may only be sent to {allowed}, not to {host}")


class _Redactor:
    """Replaces every known secret value (and its URL-encoded form) in text meant for records."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, value: Any) -> None:
        for _, text in placeholders.iter_strings(value, ""):
            if len(text) >= 4:  # shorter strings would redact ordinary words
                self._secrets.update({text, quote(text, safe="")})

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def request_summary(request: _Request, redactor: _Redactor) -> dict[str, Any]:
    """What a step sent, safe to store: secret-bearing headers and query values redacted."""
    query = {k: (REDACTED if k in request.sensitive_query else v) for k, v in request.query.items()}
    return {
        "method": request.method,
        "url": redactor.redact(request.url),
        "query": {k: redactor.redact(v) for k, v in query.items()},
        "headers": {
            k: (REDACTED if k in request.sensitive_headers else redactor.redact(v))
            for k, v in request.headers.items()
        },
        "body": None if request.body is None else (REDACTED if request.sensitive_body else "json"),
    }
