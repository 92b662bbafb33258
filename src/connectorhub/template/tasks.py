"""Background job: tell every workspace running an older version that an update is available."""

from __future__ import annotations

import logging
import uuid

from connectorhub.connector.repository import ConnectorRepository
from connectorhub.db import UnitOfWork, WorkspaceScope
from connectorhub.notification import service as notifications
from connectorhub.template.repository import TemplateRepository
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import job

log = logging.getLogger(__name__)


async def notify_installers(work: UnitOfWork, template_id: uuid.UUID, version: int) -> int:
    """One short transaction per workspace; returns how many workspaces were told."""
    async with work.transaction() as session:
        template = await TemplateRepository(session, None, platform_admin=True).get(
            str(template_id)
        )
    if template is None:
        return 0

    async def tell(scope: WorkspaceScope) -> bool:
        names = await ConnectorRepository(scope).installed_from(template_id, version)
        if names:
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
        return bool(names)

    told = sum((await work.for_each_workspace("templates", tell)).values())
    log.info("template %s v%d: told %d workspaces", template.key, version, told)
    return told


@job
async def notify_template_update(ctx: JobContext, template_id: str, version: int) -> None:
    await notify_installers(ctx.work, uuid.UUID(template_id), version)
