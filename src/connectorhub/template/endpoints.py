"""Template marketplace routes: browse, create and edit, publish, moderate, install, upgrade."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query, status

from connectorhub.auth.dependencies import AdminContext, ViewerContext
from connectorhub.connector.schemas import ConnectorRead
from connectorhub.kit.routing import hub_router
from connectorhub.template import service, versions
from connectorhub.template.schemas import (
    ConnectorUpgrade,
    TemplateCreate,
    TemplateDiff,
    TemplateFeature,
    TemplateFromConnector,
    TemplateInstall,
    TemplateInstalled,
    TemplatePage,
    TemplatePatch,
    TemplatePublish,
    TemplateRead,
    TemplateRollback,
    TemplateVersionDetail,
    TemplateVersionRead,
)

router = hub_router(tags=["templates"])
NOT_FOUND = {404: {"description": "No such template visible to this workspace"}}
INVALID = {
    400: {"description": 'A literal secret or a bad placeholder: `{"errors": {path: [...]}}`'}
}


@router.get("/templates", response_model=TemplatePage)
async def list_templates(
    context: ViewerContext,
    search: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    official: bool | None = None,
    featured: bool | None = None,
    mine: Annotated[bool, Query(description="This workspace's own, drafts included")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TemplatePage:
    return await service.search(
        context.scope, context.principal, search=search, category=category, official=official,
        featured=featured, mine=mine, page=page, page_size=page_size,
    )  # fmt: skip


@router.post(
    "/templates", response_model=TemplateRead, status_code=status.HTTP_201_CREATED,
    responses={**INVALID, 409: {"description": "Key already used"}},
)  # fmt: skip
async def create_template(body: TemplateCreate, context: AdminContext) -> TemplateRead:
    return await service.create(context.scope, context.principal, body)


@router.post(
    "/templates/from-connector", response_model=TemplateRead, status_code=status.HTTP_201_CREATED,
    responses={**INVALID, 404: {"description": "No such HTTP connector"}, 409: {"description": "Key already used"}},
)  # fmt: skip
async def template_from_connector(
    body: TemplateFromConnector, context: AdminContext
) -> TemplateRead:
    """Save an HTTP connector's definition and config as a draft (literal secrets refused)."""
    return await versions.create_from_connector(context.scope, context.principal, body)


@router.get(
    "/admin/templates/queue", response_model=list[TemplateRead],
    responses={403: {"description": "Not a platform admin"}},
)  # fmt: skip
async def moderation_queue(context: ViewerContext) -> list[TemplateRead]:
    """Platform admins: community templates, most recently published first."""
    return await service.moderation_queue(context.scope, context.principal)


@router.get("/templates/{id_or_key}", response_model=TemplateRead, responses=NOT_FOUND)
async def get_template(id_or_key: str, context: ViewerContext) -> TemplateRead:
    return await service.read(context.scope, context.principal, id_or_key)


@router.patch(
    "/templates/{id_or_key}", response_model=TemplateRead, responses={**NOT_FOUND, **INVALID}
)
async def update_template(
    id_or_key: str, body: TemplatePatch, context: AdminContext
) -> TemplateRead:
    return await service.update(context.scope, context.principal, id_or_key, body)


@router.post("/templates/{id_or_key}/publish", response_model=TemplateRead, responses=NOT_FOUND)
async def publish_template(
    id_or_key: str, context: AdminContext, body: TemplatePublish | None = None
) -> TemplateRead:
    return await service.publish(
        context.scope, context.principal, id_or_key, (body or TemplatePublish()).changelog
    )


@router.post("/templates/{id_or_key}/unpublish", response_model=TemplateRead, responses=NOT_FOUND)
async def unpublish_template(id_or_key: str, context: AdminContext) -> TemplateRead:
    return await service.unpublish(context.scope, context.principal, id_or_key)


@router.post(
    "/templates/{id_or_key}/feature", response_model=TemplateRead,
    responses={**NOT_FOUND, 403: {"description": "Not a platform admin"}},
)  # fmt: skip
async def feature_template(
    id_or_key: str, body: TemplateFeature, context: ViewerContext
) -> TemplateRead:
    """Platform admins only."""
    return await service.feature(context.scope, context.principal, id_or_key, body.featured)


@router.post(
    "/templates/{id_or_key}/install", response_model=TemplateInstalled,
    status_code=status.HTTP_201_CREATED, responses=NOT_FOUND,
)  # fmt: skip
async def install_template(
    id_or_key: str, body: TemplateInstall, context: AdminContext
) -> TemplateInstalled:
    return await service.install(context.scope, context.box, context.principal, id_or_key, body)


@router.post(
    "/connectors/{connector_id}/upgrade", response_model=ConnectorRead,
    responses={404: {"description": "No such connector or version"}, 409: {"description": "Nothing to do"}},
)  # fmt: skip
async def upgrade_connector(
    connector_id: uuid.UUID, context: AdminContext, body: ConnectorUpgrade | None = None
) -> ConnectorRead:
    """Move a connector installed from a template to a published version: the latest, or the
    one `version` names (an older one too)."""
    return await service.upgrade(
        context.scope,
        context.box,
        context.principal,
        connector_id,
        (body or ConnectorUpgrade()).version,
    )


@router.get(
    "/templates/{id_or_key}/versions", response_model=list[TemplateVersionRead], responses=NOT_FOUND
)
async def list_template_versions(
    id_or_key: str, context: ViewerContext
) -> list[TemplateVersionRead]:
    """Every published version, newest first."""
    return await versions.list_versions(context.scope, context.principal, id_or_key)


@router.get(
    "/templates/{id_or_key}/versions/{number}", response_model=TemplateVersionDetail,
    responses={404: {"description": "No such template or version"}},
)  # fmt: skip
async def get_template_version(
    id_or_key: str, number: Annotated[int, Path(ge=1, le=1_000_000)], context: ViewerContext
) -> TemplateVersionDetail:
    return await versions.read_version(context.scope, context.principal, id_or_key, number)


@router.get(
    "/templates/{id_or_key}/diff", response_model=TemplateDiff,
    responses={404: {"description": "No such template or version"}},
)  # fmt: skip
async def diff_template_versions(
    id_or_key: str, context: ViewerContext,
    from_version: Annotated[int, Query(alias="from", ge=1, le=1_000_000)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=1_000_000)],
) -> TemplateDiff:  # fmt: skip
    """A unified diff of two published versions (definition and default config, pretty JSON)."""
    return await versions.diff_versions(
        context.scope, context.principal, id_or_key, from_version, to_version
    )


@router.post(
    "/templates/{id_or_key}/rollback", response_model=TemplateRead,
    responses={**NOT_FOUND, 409: {"description": "That content is what is published"}},
)  # fmt: skip
async def rollback_template(
    id_or_key: str, body: TemplateRollback, context: AdminContext
) -> TemplateRead:
    """Publish an older version's content again, as a new version."""
    return await versions.rollback(
        context.scope, context.principal, id_or_key, body.version, body.changelog
    )
