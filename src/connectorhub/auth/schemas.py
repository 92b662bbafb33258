from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class TokenScope(StrEnum):
    read = "read"
    write = "write"


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[TokenScope] = Field(
        default_factory=lambda: [TokenScope.read, TokenScope.write], min_length=1
    )
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="The token itself. Shown once; only its hash is stored.")


class MeRead(BaseModel):
    user_id: uuid.UUID
    email: str
    workspace: str
    role: str
    scopes: list[str]
    platform_role: str | None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PlatformRole(StrEnum):
    developer = "developer"
    admin = "admin"
    owner = "owner"
    none = "none"  # takes the role away


class PlatformRoleGrant(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: PlatformRole


class PlatformUserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    platform_role: str | None
