from __future__ import annotations

from typing import Annotated

from fastapi import Query

from connectorhub.auth.dependencies import DbSession, ViewerContext
from connectorhub.catalog import service
from connectorhub.catalog.schemas import (
    CatalogEntryRead,
    CatalogList,
    ValidateConfigRequest,
    ValidateConfigResult,
)
from connectorhub.kit.routing import hub_router

router = hub_router(tags=["catalog"])


@router.get("/catalog", response_model=CatalogList)
async def list_catalog(
    session: DbSession,
    _context: ViewerContext,
    category: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> CatalogList:
    entries = await service.search_entries(session, category, kind, search)
    return CatalogList(
        items=[CatalogEntryRead.model_validate(e) for e in entries], total=len(entries)
    )


@router.get("/catalog/{id_or_key}", response_model=CatalogEntryRead)
async def get_catalog_entry(id_or_key: str, session: DbSession, _context: ViewerContext):
    return await service.entry_by_id_or_key(session, id_or_key)


@router.post(
    "/validate-config",
    response_model=ValidateConfigResult,
    responses={
        400: {"description": 'Invalid config: `{"errors": {"config.path": [messages]}}`'},
        404: {"description": "No catalog entry has that key"},
    },
)
async def validate_config(
    body: ValidateConfigRequest, session: DbSession, _context: ViewerContext
) -> ValidateConfigResult:
    await service.validate_config(session, body.catalog_key, body.config)
    return ValidateConfigResult(valid=True)
