"""Runs a definition's steps over HTTP: render, guard, send, retry, extract, record.

Knows nothing of the database: the caller gives it the values placeholders may reach and
callbacks that persist each step record (masked) and each finished step's extracted values (as
they are, for a later attempt to resume from); it returns the output or raises a DriverError.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from connectorhub.definition import placeholders
from connectorhub.definition.model import Definition, Step
from connectorhub.definition.values import RunValues
from connectorhub.execution import requests
from connectorhub.execution.requests import Request
from connectorhub.execution.responses import extract, raise_for_status, read_body
from connectorhub.kit.driver_errors import AuthFailed, DriverError, FatalError, RetriableError
from connectorhub.kit.masking import REDACTED, SecretMask
from connectorhub.kit.outbound import backoff_delay
from connectorhub.kit.ssrf import AddressPolicy, BlockedAddress

MAX_REDIRECTS = 5
# Extracted fields with names like these hold secrets (a login step's token): never recorded,
# and their values are masked wherever else they show up.
_SENSITIVE_FIELD = re.compile(r"token|secret|password|passwd|key|auth|session|cookie", re.I)

__all__ = ["REDACTED", "Runner", "StepRecord"]


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
# A finished step's extracted values as they are (never shown: the caller seals them).
OnExtracted = Callable[[int, dict[str, Any]], Awaitable[None]]
# Renews a workspace credential the provider refused: (name, refused value) → the new value.
Renew = Callable[[str, Any], Awaitable[Any]]
# Each response body as read, by step (the builder's JSONPath preview; executions keep none).
OnResponse = Callable[[Step, bytes], None]


class Runner:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        renew: Renew | None = None,
        on_response: OnResponse | None = None,
    ):
        self.session = session
        self.policy = policy
        self.sleep = sleep
        self.renew = renew
        self.on_response = on_response

    async def run(
        self,
        definition: Definition,
        values: RunValues,
        on_step: OnStep | None = None,
        *,
        mask: SecretMask | None = None,
        run_id: uuid.UUID | None = None,
        done: list[dict[str, Any]] = (),  # type: ignore[assignment]
        on_extracted: OnExtracted | None = None,
    ) -> dict[str, Any]:
        """Run the steps in order; returns the output. Raises DriverError from the first
        failing step (after its retries), its record already marked failed.

        `mask` (values.secret_mask() when not given) gathers every secret the run meets and
        scrubs records, errors and the output with it. `done` holds the extracted values of the
        steps an earlier attempt finished: those steps are not sent again. With `run_id`, each
        write carries an Idempotency-Key of its own, the same on every attempt.
        """
        mask = values.secret_mask() if mask is None else mask
        context_values: dict[str, Any] = {
            "input": values.input,
            "config": values.config,
            "secrets": values.secrets,
            "workspace": {name: cred.value for name, cred in values.workspace.items()},
            "steps": {},
        }
        sensitive_steps: dict[str, set[str]] = {}

        def learn(index: int, step: Step, extracted: dict[str, Any]) -> set[str]:
            # Later steps see the real values; what looks like a token is a secret from now on.
            secret_fields = {f for f in extracted if _SENSITIVE_FIELD.search(f)}
            sensitive_steps[step.name] = sensitive_steps[f"step_{index + 1}"] = secret_fields
            mask.add([extracted[f] for f in secret_fields])
            context_values["steps"][step.name] = extracted
            context_values[f"step_{index + 1}"] = extracted
            return secret_fields

        for index, (step, extracted) in enumerate(zip(definition.steps, done, strict=False)):
            learn(index, step, extracted)
        for index, step in enumerate(definition.steps):
            if index < len(done):
                continue
            record = StepRecord(name=step.name)
            if on_step:
                await on_step(index, record)
            started = time.perf_counter()
            key = requests.idempotency_key(run_id, index) if run_id is not None else None

            def rendered(step: Step = step, key: str | None = key) -> Request:
                try:
                    return requests.render(
                        step, context_values, sensitive_steps, values, mask, idempotency=key
                    )
                except placeholders.PlaceholderError as error:
                    raise FatalError(f"step {step.name}: {error}") from None

            try:
                request = rendered()
                record.request = requests.summary(request, mask)
                try:
                    extracted = await self._send_with_retries(step, request, values, record, mask)
                except AuthFailed:
                    # A renewable token refused (a 401): renewed once, the step sent once more.
                    if not await self._renewed(request.credentials, values, context_values, mask):
                        raise
                    request = rendered()
                    record.request = requests.summary(request, mask)
                    extracted = await self._send_with_retries(step, request, values, record, mask)
            except DriverError as error:
                record.status = "failed"
                record.error = error.message = mask.text(error.message)
                error.args = (error.message,)
                record.duration_ms = _ms(started)
                if on_step:
                    await on_step(index, record)
                raise
            secret_fields = learn(index, step, extracted)
            if on_extracted:
                await on_extracted(index, extracted)
            record.status = "succeeded"
            record.extracted = mask.value(_shown(extracted, secret_fields))
            record.duration_ms = _ms(started)
            if on_step:
                await on_step(index, record)
        if definition.output is None:
            return mask.value(
                {
                    name: _shown(found, sensitive_steps.get(name, set()))
                    for name, found in context_values["steps"].items()
                }
            )
        try:
            output = placeholders.render_json(
                definition.output, placeholders.Context(context_values)
            )
        except placeholders.PlaceholderError as error:
            raise FatalError(f"output: {mask.text(str(error))}") from None
        return mask.value(output)

    async def _send_with_retries(
        self, step: Step, request: Request, values: RunValues, record: StepRecord,
        mask: SecretMask,
    ) -> dict[str, Any]:  # fmt: skip
        policy = step.retry
        for attempt in range(1, policy.max_attempts + 1):
            record.attempt = attempt
            try:
                return await self._send(step, request, values, record, mask)
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
        self, step: Step, request: Request, values: RunValues, record: StepRecord,
        mask: SecretMask,
    ) -> dict[str, Any]:  # fmt: skip
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
                        if requests.origin(next_url) != requests.origin(url):
                            # Another host never gets what was meant for this one.
                            headers = {
                                k: v
                                for k, v in headers.items()
                                if k not in request.sensitive_headers
                            }
                            query = {
                                k: v for k, v in query.items() if k not in request.sensitive_query
                            }
                            request = request.without_credentials()
                        if response.status == 303 or (
                            response.status in (301, 302) and method == "POST"
                        ):
                            method, body = "GET", None
                        elif (
                            body is not None
                            and request.sensitive_body
                            and requests.origin(next_url) != requests.origin(url)
                        ):
                            raise FatalError(
                                f"refused to resend a body holding secrets to {next_url}"
                            )
                        url = next_url
                        query = {}  # the Location carries its own query
                        continue
                    payload = await read_body(response)
                    if self.on_response is not None:
                        self.on_response(step, payload)
                    raise_for_status(step, response, payload, mask)
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
                       mask: SecretMask) -> bool:  # fmt: skip
        renewable = [
            n for n in sorted(names) if n in values.workspace and values.workspace[n].renewable
        ]
        if self.renew is None or not renewable:
            return False
        for name in renewable:
            credential = values.workspace[name]
            credential.value = await self.renew(name, credential.value)
            context_values["workspace"][name] = credential.value
            mask.add(credential.value)
        return True


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _shown(extracted: dict[str, Any], secret_fields: set[str]) -> dict[str, Any]:
    return {k: (REDACTED if k in secret_fields else v) for k, v in extracted.items()}


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
