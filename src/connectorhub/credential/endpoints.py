"""Workspace API credential routes: admins manage them; values are never returned."""

from __future__ import annotations

import uuid

from fastapi import status

from connectorhub.auth.dependencies import AdminContext, ViewerContext
from connectorhub.credential import service
from connectorhub.credential.schemas import (
    CredentialCreate,
    CredentialList,
    CredentialPatch,
    CredentialRead,
)
from connectorhub.kit.routing import hub_router

router = hub_router(tags=["credentials"])
NOT_FOUND = {404: {"description": "No such credential in this workspace"}}
INVALID = {400: {"description": 'Missing or unknown fields: `{"errors": {"values.token": [...]}}`'}}


@router.get("/credentials", response_model=CredentialList)
async def list_credentials(context: ViewerContext) -> CredentialList:
    return await service.listing(context.scope)


@router.post(
    "/credentials", response_model=CredentialRead, status_code=status.HTTP_201_CREATED,
    responses={**INVALID, 409: {"description": "Name already used in this workspace"}},
)  # fmt: skip
async def create_credential(body: CredentialCreate, context: AdminContext) -> CredentialRead:
    return await service.create(context.scope, context.box, body)


@router.get("/credentials/{credential_id}", response_model=CredentialRead, responses=NOT_FOUND)
async def get_credential(credential_id: uuid.UUID, context: ViewerContext) -> CredentialRead:
    return await service.read(context.scope, credential_id)


@router.patch(
    "/credentials/{credential_id}", response_model=CredentialRead,
    responses={**NOT_FOUND, **INVALID},
)  # fmt: skip
async def update_credential(
    credential_id: uuid.UUID, body: CredentialPatch, context: AdminContext
) -> CredentialRead:
    return await service.update(context.scope, context.box, credential_id, body)


@router.delete(
    "/credentials/{credential_id}", status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 409: {"description": "A connector's definition still uses it"}},
)  # fmt: skip
async def delete_credential(credential_id: uuid.UUID, context: AdminContext) -> None:
    await service.delete(context.scope, credential_id)
