"""Version history of a template: every published version listed and read, two of them compared,
an older one brought back by publishing its content again as a new version, and a draft saved
from an installed HTTP connector."""

from __future__ import annotations

import difflib
import json
from typing import Any

from connectorhub.audit import service as audit
from connectorhub.auth.service import Principal
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.definition.model import Definition
from connectorhub.exceptions import NotFound
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.template import service
from connectorhub.template.models import ConnectorTemplate
from connectorhub.template.schemas import (
    InstalledFromTemplate,
    TemplateCreate,
    TemplateDiff,
    TemplateFromConnector,
    TemplateRead,
    TemplateVersionDetail,
    TemplateVersionRead,
)


async def _template(scope: WorkspaceScope, principal: Principal | None, id_or_key: str):
    return await service.get_visible(scope, principal, id_or_key)


async def list_versions(
    scope: WorkspaceScope, principal: Principal | None, id_or_key: str
) -> list[TemplateVersionRead]:
    """Newest first. Raises NotFound (no such template visible here)."""
    template = await _template(scope, principal, id_or_key)
    rows = await service.repository_for(scope, principal).versions(template.id)
    return [TemplateVersionRead.model_validate(row) for row in rows]


async def _content(
    scope: WorkspaceScope, principal: Principal | None, template: ConnectorTemplate, number: int
) -> TemplateVersionDetail:
    row = await service.repository_for(scope, principal).version(template.id, number)
    if row is None:
        raise NotFound(f"version {number} of this template not found")
    return TemplateVersionDetail.model_validate(row)


async def read_version(
    scope: WorkspaceScope, principal: Principal | None, id_or_key: str, number: int
) -> TemplateVersionDetail:
    """Raises NotFound (template or version)."""
    template = await _template(scope, principal, id_or_key)
    return await _content(scope, principal, template, number)


def _pretty(version: TemplateVersionDetail) -> list[str]:
    content = {"definition": version.definition, "default_config": version.default_config}
    return json.dumps(content, indent=2, sort_keys=True).splitlines(keepends=True)


async def diff_versions(
    scope: WorkspaceScope, principal: Principal | None, id_or_key: str, old: int, new: int
) -> TemplateDiff:
    """A unified diff of two versions' content as pretty JSON (keys sorted, so only real
    changes show). Raises NotFound (template or either version)."""
    template = await _template(scope, principal, id_or_key)
    before = await _content(scope, principal, template, old)
    after = await _content(scope, principal, template, new)
    lines = difflib.unified_diff(
        _pretty(before), _pretty(after), f"version {old}", f"version {new}", n=3
    )
    return TemplateDiff(from_version=old, to_version=new, diff="".join(lines))


async def rollback(
    scope: WorkspaceScope, principal: Principal, id_or_key: str, number: int, changelog: str = ""
) -> TemplateRead:
    """Publish version `number`'s content again, as a new version (installs upgrade to it as to
    any other). The working copy becomes that content: unpublished edits are replaced. Raises
    NotFound, Forbidden (as publishing does), Conflict (that content is what is published)."""
    template = await service.locked_for_change(
        scope, principal, id_or_key, service.publish_check(scope, principal)
    )
    old = await _content(scope, principal, template, number)
    template.definition, template.default_config = old.definition, old.default_config
    published = await service.publish_locked(
        scope, principal, template, changelog or f"Rolled back to version {number}"
    )
    audit.record(scope, "template.rolled_back", "template", template.id,
                 {"from_version": number, "version": published.version})  # fmt: skip
    return published


def _config_for_template(config: dict[str, Any]) -> dict[str, Any]:
    # Empty values say nothing an install needs; everything else goes through the literal-secret
    # check with the rest of the template.
    return {name: value for name, value in config.items() if value not in (None, "", {}, [])}


async def create_from_connector(
    scope: WorkspaceScope, principal: Principal, body: TemplateFromConnector
) -> TemplateRead:
    """A community draft holding an HTTP connector's definition and config. Raises NotFound (no
    such HTTP connector in this workspace), and what `service.create` raises (a literal secret
    is refused with its path, e.g. `definition.steps[0].headers.Authorization`)."""
    row = await ConnectorRepository(scope).get(body.connector_id)
    if row is None or row.definition is None:
        raise NotFound("HTTP connector not found")
    return await service.create(
        scope, principal,
        TemplateCreate(
            key=body.key, name=body.name, description=body.description, category=body.category,
            visibility=body.visibility, definition=Definition.model_validate(row.definition),
            default_config=_config_for_template(row.config or {}),
        ),
    )  # fmt: skip


async def installed_here(
    scope: WorkspaceScope, principal: Principal | None, id_or_key: str
) -> list[InstalledFromTemplate]:
    """This workspace's connectors made from the template, with the version each runs."""
    template = await _template(scope, principal, id_or_key)
    rows = await ConnectorRepository(scope).from_template(template.id)
    return [InstalledFromTemplate.model_validate(row) for row in rows]
