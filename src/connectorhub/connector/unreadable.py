"""A connector whose sealed credentials no key opens: one state for every caller that finds it
(a test, a sync, an execution, a publication, key rotation). The connector goes to `error` with
a reason that says what to do, the workspace is told once, and the run that found it ends
failed with the same words; nothing retries a state only a person can fix."""

from __future__ import annotations

from typing import Any

from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.exceptions import CredentialsUnreadable
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import SecretsUnreadable, open_secrets
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.webhook import events as webhooks

REASON = "credentials unreadable — re-enter them"


def reason_for(error: SecretsUnreadable) -> str:
    """What a run that found it records as its error (field names, never values)."""
    return f"{REASON} ({', '.join(error.fields)} could not be decrypted)"


async def mark_unreadable(
    scope: WorkspaceScope, connector: Connector, error: SecretsUnreadable
) -> str:
    """Put `connector` in error and tell the workspace; returns the reason recorded."""
    reason = reason_for(error)
    previous = connector.status
    connector.status = ConnectorStatus.error.value
    connector.status_reason = reason[:500]
    await webhooks.connector_status_changed(scope, connector, previous)
    ConnectorRepository(scope).touch(connector)
    await notifications.raise_(
        scope, kind="connector.credentials_unreadable", subject_id=connector.id,
        level=Level.error, title=f"{connector.name}: credentials unreadable",
        body=f"{reason}. Open the connector's Configure and enter them again.",
        link=f"/connectors/{connector.id}",
    )  # fmt: skip
    return reason


def _open(box: SecretBox, scope: WorkspaceScope, connector: Connector) -> dict[str, Any]:
    return open_secrets(
        box, tenant_id=scope.tenant_id, table=Connector.__tablename__,
        row_id=connector.id, stored=connector.auth,
    )  # fmt: skip


async def open_auth(scope: WorkspaceScope, box: SecretBox, connector: Connector) -> dict[str, Any]:
    """The connector's plaintext auth, for a request (a test, a discovery). Unreadable: the
    connector is marked and CredentialsUnreadable (409) answers; the mark is kept."""
    try:
        return _open(box, scope, connector)
    except SecretsUnreadable as error:
        raise CredentialsUnreadable(await mark_unreadable(scope, connector, error)) from None


async def auth_or_reason(
    scope: WorkspaceScope, box: SecretBox, connector: Connector
) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """For a background run: (the plaintext auth, None), or, unreadable, (None, the reason
    recorded) with the connector marked, so the run ends failed at once instead of retrying."""
    try:
        return _open(box, scope, connector), None
    except SecretsUnreadable as error:
        return None, await mark_unreadable(scope, connector, error)
