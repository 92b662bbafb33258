"""Testing a connector before it is saved (the add flow's Test step, `POST /api/connectors/test`):
the same discovery (sources) or account check (publishers) a saved connector's Test runs, on a
draft's settings and credentials, with nothing stored and no secret in the answer."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector import service
from connectorhub.connector.schemas import DraftTest
from connectorhub.exceptions import BadRequest, ValidationFailed
from connectorhub.kit.driver_errors import DriverError
from connectorhub.kit.masking import SecretMask
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import MASK
from connectorhub.publish.schemas import PublisherTest
from connectorhub.publish.tasks import account_of, check_account
from connectorhub.sync import service as sources
from connectorhub.sync.schemas import ConnectionTest
from connectorhub.sync.tasks import discovery, run_connection_test
from connectorhub.worker.context import JobContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    entry: CatalogEntry
    config: dict[str, Any]
    secrets: dict[str, str]

    def mask(self) -> SecretMask:
        """The draft's secret values (not the fields its entry marks no secret, a username)."""
        hidden = {f["name"] for f in self.entry.auth_fields if f.get("secret", True)}
        return SecretMask([v for k, v in self.secrets.items() if k in hidden])


def _given(auth: dict[str, Any]) -> dict[str, str]:
    # A draft has nothing stored: the mask and empty values are no value at all.
    return {k: str(v) for k, v in auth.items() if v is not None and v != "" and v != MASK}


async def prepare(scope: WorkspaceScope, body: DraftTest) -> Draft:
    """The draft checked as an install would check it, and testable. Raises ValidationFailed
    (400: no such entry, invalid config or auth, a credential the test needs is missing) and
    BadRequest (an entry with nothing to test this way)."""
    entry = await service.entry_for(scope, body.catalog_key, body.catalog_id)
    if entry.kind == "http":
        raise BadRequest(
            "an HTTP connector is tested by running its definition: use the connector builder "
            "(POST /api/definitions/test)"
        )
    if not (entry.kind == "publisher" or (entry.kind == "source" and entry.plugin)):
        raise BadRequest("only sources and publishers can be tested before they are saved")
    secrets = _given(body.auth)
    errors = service.install_errors(entry, body.config, body.auth)
    if entry.oauth and not secrets and not errors:
        raise BadRequest(
            f"nothing to test yet: save the connector, then Connect with "
            f"{entry.oauth.get('provider_name', 'the provider')} (or paste its tokens to test them)"
        )
    errors |= {
        f"auth.{f['name']}": ["Required to test the connection."]
        for f in entry.auth_fields
        if f["required"] and f["name"] not in secrets and f"auth.{f['name']}" not in errors
    }
    if errors:
        raise ValidationFailed(errors)
    return Draft(entry, body.config, secrets)


async def run(ctx: JobContext, tenant_id: str, draft: Draft) -> ConnectionTest | PublisherTest:
    """The test itself, outside any transaction (a tap may take a while): the outcome, with
    the provider's or the tap's words masked. Stores nothing, raises nothing for a failure."""
    if draft.entry.kind == "publisher":
        result: ConnectionTest | PublisherTest
        try:
            account = await account_of(ctx, tenant_id, draft.entry.key, draft.config, draft.secrets)
            result = PublisherTest(ok=True, account=account.to_json())
        except DriverError as error:
            result = PublisherTest(ok=False, error=draft.mask().text(error.message))
    else:
        found = sources.source_of(draft.entry, draft.config, draft.secrets)
        outcome = await discovery(ctx, tenant_id, found, prefix="draft-")
        result = ConnectionTest(
            ok=outcome.error is None, tested_at=utcnow(), error=outcome.error,
            error_kind=outcome.kind, stderr_tail=outcome.tail,
            streams=sources.streams_of(outcome.catalog, None) if outcome.catalog else [],
        )  # fmt: skip
    log.info("%s: draft %s tested: %s", tenant_id, draft.entry.key, "ok" if result.ok else "failed")
    return result


async def test_saved(ctx: JobContext, tenant_id: str, connector_id: uuid.UUID, kind: str) -> bool:
    """Once a draft that passed its test is saved: the saved connector's own Test (the card's),
    so what it found is kept as a test keeps it (who a publisher posts as, a source's streams
    to pick from). Returns whether it passed; a failure is recorded as that Test records it."""
    if kind == "publisher":
        try:
            await check_account(ctx, tenant_id, connector_id)
        except DriverError:
            return False
        return True
    return (await run_connection_test(ctx, tenant_id, connector_id)).ok
