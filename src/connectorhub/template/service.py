"""Template rules: who may create and edit which, literal-secret refusal, publishing versions,
moderation, install into a workspace and explicit upgrade."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.audit import service as audit
from connectorhub.auth.service import Principal
from connectorhub.catalog.repository import CatalogRepository
from connectorhub.connector import service as connectors
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.connector.schemas import ConnectorCreate, ConnectorPatch, ConnectorRead
from connectorhub.credential.repository import WorkspaceCredentialRepository
from connectorhub.definition.model import Definition, check_definition
from connectorhub.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from connectorhub.kit.models import utcnow
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.template.literal_secrets import literal_secret_errors
from connectorhub.template.models import (
    ConnectorTemplate,
    TemplateStatus,
    TemplateVersion,
    Visibility,
)
from connectorhub.template.repository import TemplateRepository
from connectorhub.template.schemas import (
    TemplateCreate,
    TemplateInstall,
    TemplateInstalled,
    TemplatePage,
    TemplatePatch,
    TemplateRead,
)
from connectorhub.tenant.models import Role
from connectorhub.worker.queue import Job

HTTP_CATALOG_KEY = "http"


def repository_for(scope: WorkspaceScope, principal: Principal | None) -> TemplateRepository:
    admin = principal is not None and principal.is_platform_admin
    author = principal is not None and principal.authors_official
    return TemplateRepository(
        scope.session, scope.tenant_id, platform_admin=admin, official_author=author
    )


def to_read(
    template: ConnectorTemplate, tenant_id: str | None, *, working_copy: bool = False
) -> TemplateRead:
    owned = template.owner_tenant_id is not None and template.owner_tenant_id == tenant_id
    # Others see what was published; the owner (and whoever edits it: `working_copy`) sees the
    # working copy it edits.
    editing = owned or working_copy
    definition = (
        template.definition
        if editing or template.published_definition is None
        else (template.published_definition)
    )
    config = (
        template.default_config
        if editing or template.published_config is None
        else (template.published_config)
    )
    return TemplateRead.model_validate(
        {
            **{k: getattr(template, k) for k in TemplateRead.model_fields if hasattr(template, k)},
            "owned_by_you": owned,
            "definition": definition,
            "default_config": config,
            "required_credentials": list(definition.get("credentials") or []),
            "has_unpublished_changes": template.version > 0
            and (
                template.definition != template.published_definition
                or template.default_config != template.published_config
            ),
        }
    )


@dataclass(frozen=True)
class TemplateRights:
    """What a caller may do to a template, for the pages to offer only that (the service
    functions check again)."""

    edit: bool
    publish: bool
    moderate: bool


def rights_on(template: TemplateRead, principal: Principal) -> TemplateRights:
    admin_here = principal.effective_role.at_least(Role.admin)
    own = not template.is_official and template.owned_by_you
    return TemplateRights(
        edit=admin_here and (own or (template.is_official and principal.authors_official)),
        publish=admin_here and (own or (template.is_official and principal.is_platform_admin)),
        moderate=principal.is_platform_admin,
    )


def read_for(
    template: ConnectorTemplate, scope: WorkspaceScope, principal: Principal | None
) -> TemplateRead:
    """As `to_read`; platform roles see the working copy of official templates (they edit it),
    as an owner workspace sees its own."""
    editing = template.is_official and principal is not None and principal.authors_official
    return to_read(template, scope.tenant_id, working_copy=editing)


async def check_template(
    session: AsyncSession, definition: Definition, default_config: dict[str, Any]
) -> dict[str, Any]:
    """The definition as stored. Raises ValidationFailed: unknown names or later steps, or a
    literal secret (templates never carry credentials), each with the path of the problem."""
    stored = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    errors = literal_secret_errors(stored, default_config)
    if errors:
        raise ValidationFailed(
            errors, "templates never carry credentials: put secrets in workspace credentials"
        )
    entry = await CatalogRepository(session).by_key(HTTP_CATALOG_KEY)
    try:
        check_definition(definition, config_schema=entry.default_config_schema if entry else None)
    except ValidationFailed as failure:
        raise ValidationFailed(
            {f"definition.{path}": messages for path, messages in failure.errors.items()},
            failure.message,
        ) from None
    return stored


def _may_edit(template: ConnectorTemplate, scope: WorkspaceScope, principal: Principal) -> bool:
    """Edit the working copy: official ones any platform role (developers included)."""
    if template.is_official:
        return principal.authors_official
    return template.owner_tenant_id == scope.tenant_id


def _may_publish(template: ConnectorTemplate, scope: WorkspaceScope, principal: Principal) -> bool:
    """Publish or unpublish as its author: official ones platform admins only (not developers)."""
    if template.is_official:
        return principal.is_platform_admin
    return template.owner_tenant_id == scope.tenant_id


async def get_visible(scope: WorkspaceScope, principal: Principal | None, id_or_key: str):
    template = await repository_for(scope, principal).get(id_or_key)
    if template is None:
        raise NotFound("template not found")
    return template


async def locked_for_change(
    scope: WorkspaceScope,
    principal: Principal,
    id_or_key: str,
    check: Callable[[ConnectorTemplate], None],
) -> ConnectorTemplate:
    """The template, locked for a change `check` allows (it raises Forbidden otherwise). The
    check runs before the lock, so a visible template of another workspace answers 403 (RLS
    leaves it out of FOR UPDATE), and again on the locked, fresh row."""
    template = await get_visible(scope, principal, id_or_key)
    check(template)
    if not await repository_for(scope, principal).lock(template):
        raise Forbidden("only the workspace that owns a template changes it")
    check(template)
    return template


async def _editable(scope: WorkspaceScope, principal: Principal, id_or_key: str):
    def check(template: ConnectorTemplate) -> None:
        if not _may_edit(template, scope, principal):
            raise Forbidden(
                "only platform developers and admins edit official templates"
                if template.is_official
                else "only the workspace that owns a template edits it"
            )

    return await locked_for_change(scope, principal, id_or_key, check)


async def create(scope: WorkspaceScope, principal: Principal, body: TemplateCreate) -> TemplateRead:
    """A draft. Raises Forbidden (official without a platform role), Conflict (key taken),
    ValidationFailed (literal secrets, bad placeholders)."""
    if body.is_official and not principal.authors_official:
        raise Forbidden("only platform developers and admins create official templates")
    definition = await check_template(scope.session, body.definition, body.default_config)
    template = ConnectorTemplate(
        id=uuid.uuid4(), key=body.key, name=body.name, description=body.description,
        category=body.category, icon=body.icon, docs_url=body.docs_url,
        is_official=body.is_official,
        owner_tenant_id=None if body.is_official else scope.tenant_id,
        visibility=body.visibility.value, status=TemplateStatus.draft.value, featured=False,
        install_count=0, moderated=False, definition=definition,
        default_config=body.default_config, version=0,
        changelog="", created_by=scope.actor, updated_by=scope.actor,
    )  # fmt: skip
    await repository_for(scope, principal).add_new(template)
    audit.record(scope, "template.created", "template", template.id, {"key": body.key})
    return read_for(template, scope, principal)


async def update(
    scope: WorkspaceScope, principal: Principal, id_or_key: str, body: TemplatePatch
) -> TemplateRead:
    """Edits the working copy; installs see it once it is published."""
    template = await _editable(scope, principal, id_or_key)
    fields = body.model_dump(exclude_unset=True, exclude={"definition", "default_config"})
    for name, value in fields.items():
        if value is not None:
            setattr(template, name, value.value if isinstance(value, Visibility) else value)
    if body.definition is not None or body.default_config is not None:
        definition = body.definition or Definition.model_validate(template.definition)
        config = body.default_config if body.default_config is not None else template.default_config
        template.definition = await check_template(scope.session, definition, config)
        template.default_config = config
    template.updated_by = scope.actor
    await scope.session.flush()
    audit.record(scope, "template.updated", "template", template.id, {"fields": sorted(fields)})
    return read_for(template, scope, principal)


async def publish(
    scope: WorkspaceScope, principal: Principal, id_or_key: str, changelog: str
) -> TemplateRead:
    """Publish the working copy. A changed copy becomes a new version, and workspaces running an
    older one are told an update is available (after commit, in the background). A template a
    platform admin took down is published again only by a platform admin."""

    template = await locked_for_change(scope, principal, id_or_key, publish_check(scope, principal))
    return await publish_locked(scope, principal, template, changelog)


def publish_check(scope: WorkspaceScope, principal: Principal):
    def check(template: ConnectorTemplate) -> None:
        if template.is_official and not principal.is_platform_admin:
            raise Forbidden("only platform admins publish official templates")
        if template.moderated and not principal.is_platform_admin:
            raise Forbidden(
                "a platform admin took this template down: "
                "only a platform admin may publish it again"
            )
        if not (_may_publish(template, scope, principal) or template.moderated):
            raise Forbidden("only the workspace that owns a template publishes it")

    return check


async def publish_locked(
    scope: WorkspaceScope, principal: Principal, template: ConnectorTemplate, changelog: str
) -> TemplateRead:
    """Publish a template `publish_check` allowed and `locked_for_change` locked: a changed
    working copy becomes a new version, kept beside every earlier one."""
    changed = (
        template.version == 0
        or template.definition != template.published_definition
        or template.default_config != template.published_config
    )
    if changed:
        template.version += 1
        template.published_definition = template.definition
        template.published_config = template.default_config
        template.changelog = changelog
        template.published_at = utcnow()
        await repository_for(scope, principal).add_version(
            TemplateVersion(
                template_id=template.id, version=template.version,
                definition=template.definition, default_config=template.default_config,
                changelog=changelog, published_at=template.published_at, published_by=scope.actor,
            )
        )  # fmt: skip
    elif template.status == TemplateStatus.published.value:
        raise Conflict(f"version {template.version} is already published and nothing changed")
    template.status = TemplateStatus.published.value
    template.moderated = False
    template.updated_by = scope.actor
    await scope.session.flush()
    if changed and template.version > 1:
        scope.defer(notify_job(template.id, template.version))
    audit.record(
        scope, "template.published", "template", template.id, {"version": template.version}
    )
    return read_for(template, scope, principal)


def notify_job(template_id: uuid.UUID, version: int) -> Job:
    return Job("notify_template_update", {"template_id": str(template_id), "version": version})


async def unpublish(scope: WorkspaceScope, principal: Principal, id_or_key: str) -> TemplateRead:
    """Its owner, or a platform admin moderating, takes it off the marketplace (installed
    connectors keep working)."""

    def check(template: ConnectorTemplate) -> None:
        if not (_may_publish(template, scope, principal) or principal.is_platform_admin):
            raise Forbidden("only its owner or a platform admin unpublishes a template")

    template = await locked_for_change(scope, principal, id_or_key, check)
    template.status = TemplateStatus.unpublished.value
    template.featured = False
    # Moderation: the owner cannot simply publish it again.
    template.moderated = principal.is_platform_admin and not _may_publish(
        template, scope, principal
    )
    await scope.session.flush()
    audit.record(scope, "template.unpublished", "template", template.id, {"key": template.key})
    return read_for(template, scope, principal)


async def feature(
    scope: WorkspaceScope, principal: Principal, id_or_key: str, featured: bool
) -> TemplateRead:
    if not principal.is_platform_admin:
        raise Forbidden("only platform admins feature templates")
    template = await locked_for_change(scope, principal, id_or_key, lambda _template: None)
    if featured and template.status != TemplateStatus.published.value:
        raise Conflict("only a published template can be featured")
    template.featured = featured
    await scope.session.flush()
    return read_for(template, scope, principal)


async def moderation_queue(scope: WorkspaceScope, principal: Principal) -> list[TemplateRead]:
    """Community templates, most recently published first. Raises Forbidden (not a platform
    admin)."""
    if not principal.is_platform_admin:
        raise Forbidden("only platform admins moderate templates")
    rows = await repository_for(scope, principal).recently_published(official=False)
    return [read_for(row, scope, principal) for row in rows]


async def official_templates(scope: WorkspaceScope, principal: Principal) -> list[TemplateRead]:
    """Every official template, drafts included. Raises Forbidden (no platform role)."""
    if not principal.authors_official:
        raise Forbidden("only platform roles curate official templates")
    rows = await repository_for(scope, principal).recently_published(official=True)
    return [read_for(row, scope, principal) for row in rows]


async def read(scope: WorkspaceScope, principal: Principal | None, id_or_key: str) -> TemplateRead:
    return read_for(await get_visible(scope, principal, id_or_key), scope, principal)


async def categories(scope: WorkspaceScope, principal: Principal | None) -> list[str]:
    """The categories of the templates on the marketplace, for its filter."""
    return await repository_for(scope, principal).categories()


async def search(
    scope: WorkspaceScope, principal: Principal | None, *, search: str | None = None,
    category: str | None = None, official: bool | None = None, featured: bool | None = None,
    mine: bool = False, page: int = 1, page_size: int = 50,
) -> TemplatePage:  # fmt: skip
    found = await repository_for(scope, principal).search(
        search=search, category=category, official=official, featured=featured, mine=mine,
        page=page, page_size=page_size,
    )  # fmt: skip
    return TemplatePage(
        items=[read_for(t, scope, principal) for t in found.items],
        total=found.total, page=page, page_size=page_size,
    )  # fmt: skip


async def _missing_credentials(scope: WorkspaceScope, definition: dict[str, Any]) -> list[str]:
    wanted = list(definition.get("credentials") or [])
    present = {row.name for row in await WorkspaceCredentialRepository(scope).by_names(wanted)}
    return [name for name in wanted if name not in present]


async def published_content(
    scope: WorkspaceScope,
    principal: Principal | None,
    template: ConnectorTemplate,
    version: int | None,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(number, definition, default config) of a published version: the latest by default.
    Raises NotFound when the template has no such version."""
    if version is None or version == template.version:
        assert template.published_definition is not None
        return template.version, template.published_definition, template.published_config or {}
    kept = await repository_for(scope, principal).version(template.id, version)
    if kept is None:
        raise NotFound(f"version {version} of this template not found")
    return kept.version, kept.definition, kept.default_config


async def install(
    scope: WorkspaceScope, box, principal: Principal, id_or_key: str, body: TemplateInstall
) -> TemplateInstalled:
    """A connector from a published version, the latest unless `body.version` picks one (status
    inactive). Raises NotFound (template or version), Conflict (not published), and what
    installing a connector raises."""
    template = await get_visible(
        scope, None, id_or_key
    )  # what this workspace may see, admin or not
    if template.status != TemplateStatus.published.value or template.published_definition is None:
        raise Conflict("only a published template can be installed")
    number, definition, config = await published_content(scope, None, template, body.version)
    created = await connectors.install(
        scope, box,
        ConnectorCreate(
            catalog_key=HTTP_CATALOG_KEY, name=body.name, config={**config, **body.config},
            definition=Definition.model_validate(definition), tags=body.tags,
        ),
    )  # fmt: skip
    row = await ConnectorRepository(scope).get(created.id)
    assert row is not None
    row.template_id, row.template_version = template.id, number
    await repository_for(scope, principal).count_install(template.id)
    await scope.session.flush()
    return TemplateInstalled(
        connector=created.model_copy(
            update={"template_id": template.id, "template_version": number}
        ),
        missing_credentials=await _missing_credentials(scope, definition),
    )


async def upgrade(
    scope: WorkspaceScope,
    box,
    principal: Principal,
    connector_id: uuid.UUID,
    version: int | None = None,
) -> ConnectorRead:
    """Move a connector to a published version of its template: the latest by default, or the
    one chosen (older ones too: a way back). Its config stays. Raises NotFound (connector or
    version), Conflict (no template, or already on that version)."""
    row = await ConnectorRepository(scope).get(connector_id)
    if row is None:
        raise NotFound("connector not found")
    if row.template_id is None:
        raise Conflict("this connector was not installed from a template")
    template = await repository_for(scope, principal).get(str(row.template_id))
    if template is None or template.published_definition is None:
        raise Conflict("its template is no longer available")
    if version is None and template.version <= (row.template_version or 0):
        raise Conflict(f"already on the latest version ({template.version})")
    number, definition, _config = await published_content(scope, principal, template, version)
    if number == row.template_version:
        raise Conflict(f"already on version {number}")
    updated = await connectors.edit(
        scope, box, connector_id, ConnectorPatch(definition=Definition.model_validate(definition))
    )
    row.template_version = number
    await scope.session.flush()
    return updated.model_copy(update={"template_version": number})
