"""Server-Sent Events from `(event, data)` pairs: what the live pages and the API stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event

# What the OpenAPI document says a stream answers (each route adds its events' names).
SSE_CONTENT = {"text/event-stream": {}}


def event_stream(events: AsyncIterator[tuple[str, dict[str, Any]]]) -> StreamingResponse:
    """A text/event-stream response sending each pair as `event:` and JSON `data:`, unbuffered
    by proxies; it ends when `events` does."""

    async def lines() -> AsyncIterator[str]:
        async for event, data in events:
            yield format_sse_event(event=event, data_str=json.dumps(data))

    return StreamingResponse(
        lines(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
