"""The application factory, and how another FastAPI app embeds the connectors API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from connectorhub.audit.endpoints import router as audit_router
from connectorhub.audit.pages import router as audit_pages
from connectorhub.auth.endpoints import router as auth_router
from connectorhub.auth.pages import router as auth_pages
from connectorhub.auth.sessions import LoginThrottle
from connectorhub.builder.endpoints import router as builder_router
from connectorhub.builder.pages import router as builder_pages
from connectorhub.catalog.endpoints import router as catalog_router
from connectorhub.config import Settings
from connectorhub.connector.add_flow import router as add_flow_pages
from connectorhub.connector.bulk_pages import router as connector_bulk_pages
from connectorhub.connector.endpoints import router as connector_router
from connectorhub.connector.pages import router as connector_pages
from connectorhub.credential.endpoints import router as credential_router
from connectorhub.credential.pages import router as credential_pages
from connectorhub.exceptions import install_api_error_handler
from connectorhub.execution.endpoints import router as execution_router
from connectorhub.execution.pages import router as execution_pages
from connectorhub.hub import Hub
from connectorhub.kit.routing import hub_router
from connectorhub.meltano.endpoints import router as meltano_router
from connectorhub.meltano.pages import router as meltano_pages
from connectorhub.notification.endpoints import router as notification_router
from connectorhub.notification.pages import router as notification_pages
from connectorhub.oauth.endpoints import router as oauth_router
from connectorhub.oauth.pages import router as oauth_pages
from connectorhub.publish.endpoints import router as publish_router
from connectorhub.publish.pages import router as publish_pages
from connectorhub.sync.destination_pages import router as destination_pages
from connectorhub.sync.endpoints import router as sync_router
from connectorhub.sync.pages import router as sync_pages
from connectorhub.template.endpoints import router as template_router
from connectorhub.template.pages import router as template_pages
from connectorhub.tenant.endpoints import router as tenant_router
from connectorhub.tenant.pages import router as tenant_pages
from connectorhub.web.admission import Admission
from connectorhub.web.forwarded import TrustedProxyHeaders
from connectorhub.web.limits import RequestLimits
from connectorhub.web.openapi_statuses import install_openapi_statuses
from connectorhub.web.templating import STATIC_DIR
from connectorhub.webhook.endpoints import router as webhook_router
from connectorhub.webhook.pages import router as webhook_pages

log = logging.getLogger(__name__)


def api_router() -> APIRouter:
    """Every JSON route of the service, relative to the API root."""
    router = APIRouter()
    for domain_router in (
        catalog_router,
        connector_router,
        tenant_router,
        auth_router,
        audit_router,
        execution_router,
        credential_router,
        notification_router,
        template_router,
        sync_router,
        publish_router,
        oauth_router,
        builder_router,
        webhook_router,
        meltano_router,
    ):
        router.include_router(domain_router)
    return router


async def _malformed_payload(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Pydantic's echo of the input could carry a secret that failed validation: drop it.
    errors = [
        {k: v for k, v in error.items() if k not in {"input", "ctx", "url"}}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _health_router() -> APIRouter:
    router = hub_router(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "The database does not answer"}})
    async def readyz(request: Request) -> JSONResponse:
        """The database answers."""
        try:
            async with request.app.state.hub.work.transaction() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means not ready
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return router


def pages_router() -> APIRouter:
    """Every HTML page of the service (Jinja + HTMX), relative to the UI root."""
    router = APIRouter()
    for domain_router in (
        auth_pages, builder_pages, connector_pages, add_flow_pages, tenant_pages, execution_pages,
        template_pages,
        credential_pages, notification_pages, sync_pages, publish_pages, oauth_pages,
        connector_bulk_pages, audit_pages, webhook_pages,
        meltano_pages, destination_pages,
    ):  # fmt: skip
        router.include_router(domain_router)
    return router


def include_connectors(host: FastAPI, hub: Hub, prefix: str = "", *, pages: bool = True) -> None:
    """Serve the connectors API under `prefix` + `/api` in `host` (and the web UI under `prefix`),
    started and stopped with host's lifespan."""
    host.state.hub = hub
    host.state.ui_prefix = prefix
    host.include_router(api_router(), prefix=f"{prefix}/api")
    if pages:
        host.state.login_throttle = LoginThrottle()
        host.include_router(pages_router(), prefix=prefix)
        host.mount(
            f"{prefix}/static", StaticFiles(directory=STATIC_DIR), name="connectorhub-static"
        )
    install_api_error_handler(host)
    install_openapi_statuses(host)
    host.add_exception_handler(RequestValidationError, _malformed_payload)
    inner = host.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[object]:
        async with hub.running(), inner(app) as state:
            await hub.start_embedded_worker()
            yield state

    host.router.lifespan_context = lifespan


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    """The whole service. Pass `hub` to share an already-built one (tests, embedding)."""
    settings = hub.settings if hub else (settings or Settings())
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    app = FastAPI(
        title="ConnectorHub",
        version="0.1.0",
        description="Connectors for every workspace: catalog, installed connectors, credentials.",
    )
    include_connectors(app, hub or Hub(settings))
    app.include_router(_health_router())
    app.add_middleware(TrustedProxyHeaders, networks=lambda: settings.trusted_proxy_networks)
    # Admission inside the limits: a refused or queued request has had its head checked.
    app.add_middleware(Admission, settings=settings)
    app.add_middleware(RequestLimits, settings=settings)  # outermost: bounds every body read
    return app
