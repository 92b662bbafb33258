"""The interface every publisher driver keeps, and what it hands back.

A driver gets the shared SSRF-guarded HTTP session, the connector's config and opened secrets;
it raises the driver error kinds (kit/driver_errors.py): FatalError (bad content, refused
request), AuthFailed (credentials refused or not allowed to publish), RetriableError (with the
provider's retry-after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from connectorhub.kit.driver_errors import FatalError


@dataclass(frozen=True)
class Posted:
    post_id: str
    url: str | None


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    handle: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "handle": self.handle}


class PartlyPosted(FatalError):
    """Part of a multi-post publication (a thread) went out, then the rest failed: never sent
    again as a whole."""

    def __init__(self, message: str, posted: Posted):
        super().__init__(message)
        self.posted = posted


class Publisher(Protocol):
    # Whether `find` can tell if an earlier attempt posted (a marker the provider keeps).
    can_find: bool

    async def check_account(self) -> Account:
        """Who the credentials sign in as, and that they may publish."""
        ...

    async def publish(self, content: dict[str, Any], marker: str) -> Posted:
        """Post `content` (a PublishRequest's fields), tagged with `marker` where the provider
        keeps it, so an attempt cut short can be found again (`find`)."""
        ...

    async def find(self, marker: str) -> Posted | None:
        """The post an earlier attempt made with `marker`, if the provider can tell; raises
        NotImplementedError where it cannot."""
        ...
