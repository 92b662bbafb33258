"""Every table, imported once so metadata (and Alembic) sees them all."""

from connectorhub.audit.models import AuditEvent
from connectorhub.auth.models import ApiToken, User, WebSession
from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector.models import Connector
from connectorhub.credential.models import SecretKeyCheck, WorkspaceApiCredential
from connectorhub.execution.models import Execution
from connectorhub.kit.models import Base
from connectorhub.notification.models import Notification
from connectorhub.oauth.models import OAuthState
from connectorhub.publish.models import Publication
from connectorhub.sync.models import SyncRun
from connectorhub.template.models import ConnectorTemplate
from connectorhub.tenant.models import Membership, Workspace
from connectorhub.webhook.models import Webhook, WebhookDelivery

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CatalogEntry",
    "Connector",
    "ConnectorTemplate",
    "Execution",
    "Membership",
    "Notification",
    "OAuthState",
    "Publication",
    "SecretKeyCheck",
    "SyncRun",
    "User",
    "WebSession",
    "Webhook",
    "WebhookDelivery",
    "Workspace",
    "WorkspaceApiCredential",
]


def ours(name: str | None, type_: str, _parent: object = None) -> bool:
    """Alembic's include_name: the job queue's tables belong to Procrastinate (migration 0005)."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def rls_tables() -> list[str]:
    """Tenant tables that PostgreSQL row-level security guards."""
    return sorted(
        mapper.class_.__tablename__
        for mapper in Base.registry.mappers
        if getattr(mapper.class_, "__tenant_table__", False)
    )
