from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from connectorhub.tenant.models import Role

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def check_slug(value: str) -> str:
    if not SLUG_PATTERN.match(value):
        raise ValueError("a workspace slug is 1-64 lowercase letters, digits and inner hyphens")
    return value


class WorkspaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime


class MemberInvite(BaseModel):
    email: EmailStr
    role: Role = Role.member


class MemberUpdate(BaseModel):
    role: Role


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    role: Role
    created_at: datetime


class MemberInvited(MemberRead):
    initial_password: str | None = Field(
        None, description="Set only when the invite created a new account: shown once."
    )


class WorkspaceCreate(BaseModel):
    id: str
    name: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_slug(value)
