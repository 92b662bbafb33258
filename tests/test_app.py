"""The app factory: health, OpenAPI, embedding under a prefix, migrations matching the models."""

from __future__ import annotations

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI

from connectorhub.app import include_connectors
from connectorhub.models import Base, ours


async def test_health_endpoints(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_openapi_lists_the_contract(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in [
        "/api/catalog", "/api/catalog/{id_or_key}", "/api/installed", "/api/installed/{connector_id}",
        "/api/connectors", "/api/connectors/{connector_id}", "/api/validate-config", "/api/publish-targets",
        "/api/members", "/api/tokens", "/healthz", "/readyz",
    ]:  # fmt: skip
        assert path in paths
    assert (await client.get("/docs")).status_code == 200


async def test_mounts_under_a_prefix_in_another_app(hub, workspace):
    host = FastAPI()

    @host.get("/")
    async def home() -> dict[str, str]:
        return {"app": "host"}

    include_connectors(host, hub, prefix="/features/connectors")
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        assert (await client.get("/")).json() == {"app": "host"}
        listed = await client.get(
            "/features/connectors/api/catalog", headers=workspace.owner.headers
        )
        assert listed.status_code == 200 and listed.json()["total"] >= 7
        missing = await client.get(
            "/features/connectors/api/installed/nope", headers=workspace.owner.headers
        )
        assert missing.status_code == 422
        assert (await client.get("/features/connectors/api/installed")).status_code == 401


@pytest.mark.both_backends
async def test_migrations_match_the_models(hub):
    def diff(connection):
        return compare_metadata(
            MigrationContext.configure(
                connection, opts={"compare_type": False, "include_name": ours}
            ),
            Base.metadata,
        )

    async with hub.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
