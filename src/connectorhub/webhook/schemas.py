"""What the webhook API takes and answers. The signing secret appears once, on creation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectorhub.webhook.models import Event


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    description: str = Field(default="", max_length=200)
    events: list[Event] = Field(min_length=1)
    active: bool = True


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    events: list[Event] | None = Field(default=None, min_length=1)
    active: bool | None = None


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret: shown this once, never again")


class WebhookList(BaseModel):
    items: list[WebhookRead]


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_id: uuid.UUID
    event: str
    event_id: uuid.UUID
    status: str
    attempt: int
    response_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    duration_ms: float | None
    redelivery_of: uuid.UUID | None
    created_at: datetime
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    page: int
    page_size: int
