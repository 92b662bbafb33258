"""Official templates kept as data (`official/*.yaml`), seeded like the catalog.

A new file becomes a published template (version 1); an edited file publishes the next version
and tells the workspaces that installed an older one. Every file passes the same checks as a
template saved through the API (no literal secrets, known placeholders only).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectorhub.db import UnitOfWork
from connectorhub.definition.model import Definition
from connectorhub.kit.models import utcnow
from connectorhub.template.models import (
    ConnectorTemplate,
    TemplateStatus,
    TemplateVersion,
    Visibility,
)
from connectorhub.template.repository import TemplateRepository
from connectorhub.template.service import check_template
from connectorhub.template.tasks import notify_installers

log = logging.getLogger(__name__)
OFFICIAL_DIR = Path(__file__).parent / "official"
_FIELDS = ("name", "description", "category", "icon", "docs_url", "featured", "changelog")


@dataclass
class OfficialSeedReport:
    created: list[str]
    updated: list[str]


def load_official() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(OFFICIAL_DIR.glob("*.yaml"))]


def _hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def seed_official(work: UnitOfWork) -> OfficialSeedReport:
    report = OfficialSeedReport(created=[], updated=[])
    to_notify: list[tuple[uuid.UUID, int]] = []
    async with work.transaction() as session:
        repository = TemplateRepository(session, None, platform_admin=True)
        existing = await repository.official_by_key()
        for data in load_official():
            key, content_hash = data["key"], _hash(data)
            row = existing.get(key)
            if row is not None and row.content_hash == content_hash:
                continue
            if row is None and await repository.key_taken(key):
                log.warning(
                    "official template %r not seeded: a community template has its key", key
                )
                continue
            definition = await check_template(
                session, Definition.model_validate(data["definition"]), data["default_config"]
            )
            if row is None:
                row = repository.add(
                    ConnectorTemplate(
                        id=uuid.uuid4(),
                        key=key,
                        is_official=True,
                        owner_tenant_id=None,
                        visibility=Visibility.public.value,
                        install_count=0,
                        version=0,
                        moderated=False,
                        created_by="official",
                        updated_by="official",
                    )
                )
                report.created.append(key)
            else:
                report.updated.append(key)
            for field in _FIELDS:
                setattr(row, field, data.get(field, "" if field != "featured" else False))
            changed = definition != row.published_definition or (
                data["default_config"] != row.published_config
            )
            row.definition = row.published_definition = definition
            row.default_config = row.published_config = data["default_config"]
            if changed:
                row.version += 1
                row.published_at = utcnow()
                row.status = TemplateStatus.published.value
                await session.flush()  # the template's row first: its versions refer to it
                await repository.add_version(
                    TemplateVersion(
                        template_id=row.id, version=row.version, definition=definition,
                        default_config=data["default_config"], changelog=row.changelog or "",
                        published_at=row.published_at, published_by="official",
                    )
                )  # fmt: skip
                if row.version > 1:
                    to_notify.append((row.id, row.version))
            row.status = TemplateStatus.published.value
            row.content_hash = content_hash
    for template_id, version in to_notify:
        await notify_installers(work, template_id, version)
    if report.created or report.updated:
        log.info("official templates: created=%s updated=%s", report.created, report.updated)
    return report
