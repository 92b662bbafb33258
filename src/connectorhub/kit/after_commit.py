"""A response whose work runs after the request's transaction has committed.

For slow work that must not hold a transaction (or its row locks) open, such as running a
tap's discovery: the route checks what it can and returns this; once the request's own
transaction is committed, `work` runs and produces the real response.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from connectorhub.exceptions import HubError


class AfterCommitResponse(Response):
    def __init__(self, work: Callable[[], Awaitable[Response]]):
        super().__init__()
        self.work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.work()
        except HubError as exc:  # gone meanwhile, say
            response = Response(
                json.dumps(exc.to_json()), exc.status_code, exc.headers,
                media_type="application/json",
            )  # fmt: skip
        await response(scope, receive, send)
