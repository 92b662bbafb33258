from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectorhub.kit.emails import EmailAddress
from connectorhub.tenant.models import InvitationStatus, Role

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
    email: EmailAddress
    role: Role = Role.member


class MemberUpdate(BaseModel):
    role: Role


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    role: Role
    created_at: datetime


class InvitationRead(BaseModel):
    """An invitation as its workspace's owners see it."""

    id: uuid.UUID
    email: str
    role: Role
    status: InvitationStatus
    expires_at: datetime
    created_at: datetime


class InvitationCreated(InvitationRead):
    """The answer to an invite: the same shape whether or not the email has an account."""

    token: str = Field(
        description="Shown once: the invitee's link carries it. Someone with an account signs "
        "in and accepts; someone new chooses a password on the link's page."
    )
    accept_path: str = Field(description="The invitee's page: `{server}{accept_path}`")


class InvitationAnswer(BaseModel):
    token: str = Field(min_length=1, max_length=128, description="The invitation link's token")


class InvitationAccepted(BaseModel):
    workspace_id: str
    workspace_name: str
    role: Role


class WorkspaceCreate(BaseModel):
    id: str
    name: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_slug(value)
