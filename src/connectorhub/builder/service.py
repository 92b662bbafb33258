"""Test-running a draft definition: checked as saving one is, run by the executions' runner
(same SSRF guard, placeholder rules and masking), stored nowhere.

`prepare` reads what the run needs inside the request's transaction; `run` makes the outbound
calls after it has ended, as executions do (no transaction stays open across them)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from connectorhub.builder.schemas import DraftResult, DraftStep, DraftTest
from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import service as connector_service
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.unreadable import open_auth
from connectorhub.credential import service as credentials
from connectorhub.definition.model import Definition, Step
from connectorhub.definition.values import RunValues
from connectorhub.exceptions import ValidationFailed
from connectorhub.execution.runner import Runner, StepRecord
from connectorhub.execution.service import with_defaults
from connectorhub.execution.tasks import renewing_credentials
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.driver_errors import DriverError
from connectorhub.kit.masking import SecretMask
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.schema_validation import error_map
from connectorhub.kit.secret_schema import secret_paths
from connectorhub.worker.context import JobContext

HTTP_KEY = "http"
DEFAULT_SECONDS = 60.0
MAX_SECONDS = 120.0
RESPONSE_SHOWN_BYTES = 64 * 1024
_AUTH_TAGS = {"bearer", "basic", "api_key"}

OnStep = Callable[[int, DraftStep], Awaitable[None]]


def shape_errors(exc: ValidationError, prefix: str) -> dict[str, list[str]]:
    """Pydantic's errors keyed by the paths check_definition uses (`steps[0].url`), under
    `prefix`; the auth union's tag (`bearer`…) is left out of the path."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        path, previous = prefix, None
        for part in error["loc"]:
            if previous == "auth" and part in _AUTH_TAGS:
                continue
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
            previous = part
        errors.setdefault(path, []).append(error["msg"].removeprefix("Value error, "))
    return errors


def definition_problems(
    entry: CatalogEntry, raw: dict[str, Any]
) -> tuple[Definition | None, dict[str, list[str]]]:
    """The draft as a Definition (None when its shape is wrong) and its problems, keyed
    `definition.<path>` as saving a connector reports them."""
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as exc:
        return None, shape_errors(exc, "definition")
    return definition, connector_service.definition_errors(entry, definition)


async def http_entry(scope: WorkspaceScope) -> CatalogEntry:
    return await catalog_service.entry_by_id_or_key(scope.session, HTTP_KEY)


def check_draft(
    entry: CatalogEntry, raw: dict[str, Any], config: dict[str, Any] | None = None
) -> Definition:
    """Raises ValidationFailed with every problem of the definition (and of the config)."""
    definition, errors = definition_problems(entry, raw)
    if config is not None:
        errors |= catalog_service.config_errors(entry, config)
    if errors:
        raise ValidationFailed(errors, "the definition has problems")
    assert definition is not None
    return definition


@dataclass
class Prepared:
    definition: Definition
    values: RunValues
    config_secrets: list[Any]


async def prepare(scope: WorkspaceScope, box: SecretBox, body: DraftTest) -> Prepared:
    """Check the draft, its config and its input, and open what its placeholders may reach.

    Raises ValidationFailed (400: `definition.…`, `config.…`, `input.…`, `connector_id`),
    CredentialsUnreadable (409: the connector's auth no key opens).
    """
    entry = await http_entry(scope)
    connector = None
    if body.connector_id is not None:
        connector = await ConnectorRepository(scope).get_with_catalog(body.connector_id)
        if connector is None or connector.catalog.kind != HTTP_KEY:
            raise ValidationFailed(
                {"connector_id": ["No HTTP connector with this id in this workspace."]}
            )
    config = body.config if body.config is not None else (connector.config if connector else {})
    definition, errors = definition_problems(entry, body.definition)
    errors |= catalog_service.config_errors(entry, config)
    run_input = body.input
    if definition is not None:
        run_input = with_defaults(body.input, definition.input_schema)
        errors |= error_map(run_input, definition.input_schema, prefix="input")
    if errors:
        raise ValidationFailed(errors, "the definition has problems")
    assert definition is not None
    secrets = await open_auth(scope, box, connector) if connector is not None else {}
    workspace, missing = await credentials.for_run(scope, box, definition.credentials)
    if missing:
        names = ", ".join(repr(n) for n in missing)
        problem = (
            f"workspace credential {names} does not exist: add it under Settings → Credentials"
        )
        raise ValidationFailed({"definition.credentials": [problem]})
    config_secret = secret_paths(entry.default_config_schema, config)
    values = RunValues(
        input=run_input, config=config, secrets=secrets, workspace=workspace,
        secret_inputs=secret_paths(definition.input_schema, run_input),
    )  # fmt: skip
    return Prepared(definition, values, [_at(config, path) for path in config_secret])


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _response_shown(payload: bytes | None, mask: SecretMask) -> Any:
    if payload is None:
        return None
    if len(payload) <= RESPONSE_SHOWN_BYTES:
        try:
            return mask.value(json.loads(payload))
        except ValueError:
            pass
    # Masked before it is cut: a secret across the cut would leave its first half in clear.
    return mask.text(payload.decode("utf-8", "replace"))[:RESPONSE_SHOWN_BYTES]


async def run(
    ctx: JobContext,
    tenant_id: str,
    prepared: Prepared,
    *,
    seconds: float = DEFAULT_SECONDS,
    on_step: OnStep | None = None,
) -> DraftResult:
    """Run the draft's steps once, at most `seconds` in all, with the executions' outbound
    client and token renewal (`ctx`); a failing step is a `failed` result (never an
    exception). Call it outside any transaction: renewal opens short ones of its own."""
    mask = prepared.values.secret_mask()
    mask.add(prepared.config_secrets)
    responses: dict[str, bytes] = {}
    records: list[dict[str, Any]] = []

    def seen(step: Step, payload: bytes) -> None:
        responses[step.name] = payload

    def shown(record: dict[str, Any]) -> DraftStep:
        payload = responses.get(record["name"]) if record["status"] != "running" else None
        return DraftStep(**record, response=_response_shown(payload, mask))

    async def on_record(index: int, record: StepRecord) -> None:
        records[index : index + 1] = [record.to_json()]
        if on_step is not None:
            await on_step(index, shown(records[index]))

    started = time.perf_counter()
    output, error = None, None
    try:
        async with asyncio.timeout(seconds):
            # oauth2 workspace credentials naming a provider: renewed when due, as for a run.
            renew = await renewing_credentials(ctx, tenant_id, prepared.values)
            mask.add([credential.value for credential in prepared.values.workspace.values()])
            runner = Runner(ctx.outbound.session, ctx.outbound.policy, renew=renew,
                            on_response=seen)  # fmt: skip
            output = await runner.run(prepared.definition, prepared.values, on_record, mask=mask)
    except DriverError as failure:
        error = mask.text(failure.message)
    except TimeoutError:
        error = f"the test run was stopped after {seconds:g} s"
        for record in records:
            if record["status"] == "running":
                record.update(status="failed", error=error)
    return DraftResult(
        status="failed" if error else "succeeded",
        steps=[shown(record) for record in records],
        output=output,
        error=error,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
