"""Draft definition routes: test-run an unsaved definition (the builder's Test step)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from connectorhub.auth.dependencies import AdminContext
from connectorhub.builder import service
from connectorhub.builder.schemas import DraftResult, DraftTest
from connectorhub.hub import Hub
from connectorhub.kit.routing import hub_router

router = hub_router(tags=["definitions"])


class DraftRunResponse(Response):
    """Sent after the request's transaction has ended: the steps run here, and the answer is
    the result once they have (no transaction stays open across the outbound calls)."""

    media_type = "application/json"

    def __init__(self, hub: Hub, tenant_id: str, prepared: service.Prepared, seconds: float):
        super().__init__(status_code=200)
        self.hub, self.tenant_id, self.prepared, self.seconds = hub, tenant_id, prepared, seconds

    async def __call__(self, scope, receive, send) -> None:
        result = await service.run(
            self.hub.context, self.tenant_id, self.prepared, seconds=self.seconds
        )
        self.body = self.render(result.model_dump_json())
        self.init_headers()
        await super().__call__(scope, receive, send)


@router.post(
    "/definitions/test",
    response_model=DraftResult,
    responses={
        200: {"description": "The run's step records and output (`status` says how it ended)"},
        400: {"description": 'The draft, config or input has problems: `{"errors": '
              '{"definition.steps[0].url": [messages], "input.user": […]}}`'},
        409: {"description": "The connector's credentials cannot be decrypted"},
    },
)  # fmt: skip
async def try_definition(
    body: DraftTest,
    context: AdminContext,
    request: Request,
    seconds: Annotated[
        float,
        Query(alias="timeout", gt=0, le=service.MAX_SECONDS, description="Seconds for the run"),
    ] = service.DEFAULT_SECONDS,
) -> Response:
    """Run an unsaved definition once with sample `input`, through the same runner, outbound
    guard, placeholder rules and masking as executions; nothing is stored."""
    prepared = await service.prepare(context.scope, context.box, body)
    return DraftRunResponse(request.app.state.hub, context.scope.tenant_id, prepared, seconds)
