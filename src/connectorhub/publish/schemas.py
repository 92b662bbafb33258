"""Publish requests and publications as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class MediaItem(BaseModel):
    url: HttpUrl
    alt: str | None = Field(None, max_length=1000)


class PublishRequest(BaseModel):
    """What to post. Content is data, never a template: `{{…}}` is posted as written."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000)
    title: str | None = Field(None, max_length=1000)
    html: str | None = Field(None, max_length=5_000_000)
    markdown: str | None = Field(None, max_length=5_000_000)
    link: HttpUrl | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    categories: list[Tag] = Field(default_factory=list, max_length=100)
    media: list[MediaItem] = Field(default_factory=list, max_length=10)
    thread: list[Annotated[str, StringConstraints(min_length=1, max_length=100_000)]] = Field(
        default_factory=list,
        max_length=25,
        description="X: more posts after `text`, each a reply to the one before.",
    )
    status: Literal["publish", "draft"] | None = Field(
        None, description="Default: the connector's default (WordPress: `default_status`)."
    )
    publish_at: AwareDatetime | None = Field(
        None,
        description="RFC 3339 with a time zone; in the future → scheduled (202), else published now.",
    )


class PublicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connector_id: uuid.UUID
    status: str
    provider_post_id: str | None
    url: str | None
    attempts: int
    error: str | None
    error_kind: str | None
    publish_at: datetime | None
    created_at: datetime
    published_at: datetime | None
    late_ms: float | None
    content: dict


class PublicationPage(BaseModel):
    items: list[PublicationRead]
    total: int
    page: int
    page_size: int


class PublisherTest(BaseModel):
    """A publisher's connection test: the account the credentials sign in as, or why not."""

    ok: bool
    account: dict | None = None
    error: str | None = None
