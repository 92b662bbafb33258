"""Background job: tell every workspace running an older version that an update is available."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.notification import service as notifications
from connectorhub.template.repository import TemplateRepository

if TYPE_CHECKING:
    from connectorhub.hub import Hub

log = logging.getLogger(__name__)


async def notify_installers(hub: Hub, template_id: uuid.UUID, version: int) -> int:
    """One short transaction per workspace; returns how many workspaces were told."""
    from connectorhub.tenant.service import workspace_ids

    async with hub.sessionmaker() as session, session.begin():
        template = await TemplateRepository(session, None, platform_admin=True).get(
            str(template_id)
        )
        tenants = list(await workspace_ids(session))
    if template is None:
        return 0
    told = 0
    for tenant_id in tenants:
        async with hub.transaction() as session:
            scope = await WorkspaceScope.open(session, tenant_id, "templates")
            names = await ConnectorRepository(scope).installed_from(template_id, version)
            if not names:
                continue
            await notifications.raise_(
                scope,
                kind="template.update_available",
                subject_id=template_id,
                title=f"{template.name}: version {version} is available",
                body=(
                    (f"{template.changelog}\n" if template.changelog else "")
                    + f"Installed as: {', '.join(sorted(names))}. Upgrade each one when ready; "
                    "nothing changes until you do."
                ),
                link=f"/templates/{template.key}",
            )
            told += 1
    log.info("template %s v%d: told %d workspaces", template.key, version, told)
    return told


async def notify_template_update(hub: Hub, template_id: str, version: int, **_: Any) -> None:
    await notify_installers(hub, uuid.UUID(template_id), version)
