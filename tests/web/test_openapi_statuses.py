"""The OpenAPI document lists the statuses each operation answers because of what it is built of:
401 wherever a token is needed, 403 where a role above viewer is, 404 where a path names an
object, each with the project's error shape — and the service answers them as listed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from connectorhub.app import include_connectors
from connectorhub.tenant.models import Role

ERROR = {"$ref": "#/components/schemas/Error"}


def operations(document: dict) -> dict[str, dict]:
    return {
        f"{method.upper()} {path}": operation
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
    }


def schema_of(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


async def test_every_operation_that_needs_a_token_lists_401(client):
    document = (await client.get("/openapi.json")).json()
    found = operations(document)
    secured = {name for name, operation in found.items() if operation.get("security")}
    assert len(secured) > 50 and "GET /api/catalog" in secured
    for name in secured:
        assert schema_of(found[name], "401") == ERROR, name
    for name in ("GET /healthz", "GET /readyz"):
        assert "401" not in found[name]["responses"]
    assert document["components"]["schemas"]["Error"]["required"] == ["detail"]
    refused = await client.get("/api/catalog")
    assert refused.status_code == 401 and refused.json() == {"detail": "Authentication required"}


async def test_403_is_listed_where_a_role_above_viewer_is_needed(client, workspace):
    found = operations((await client.get("/openapi.json")).json())
    assert schema_of(found["POST /api/connectors"], "403") == ERROR
    assert schema_of(found["POST /api/notifications/read-all"], "403") == ERROR  # write scope
    for viewer_may in ("GET /api/catalog", "GET /api/installed", "POST /api/validate-config"):
        assert "403" not in found[viewer_may]["responses"], viewer_may
    viewer = await workspace.member(Role.viewer)
    body = {"catalog_key": "http", "name": "n", "config": {"base_url": "https://a.example"}}
    refused = await client.post("/api/connectors", json=body, headers=viewer.headers)
    assert refused.status_code == 403


async def test_404_is_listed_on_the_catalog_entry_and_validate_config(client, workspace):
    found = operations((await client.get("/openapi.json")).json())
    for name in ("GET /api/catalog/{id_or_key}", "POST /api/validate-config"):
        assert schema_of(found[name], "404") == ERROR, name
    path_operations = [name for name in found if "{" in name]
    assert all("404" in found[name]["responses"] for name in path_operations)
    headers = workspace.owner.headers
    assert (await client.get("/api/catalog/0", headers=headers)).status_code == 404
    unknown = await client.post(
        "/api/validate-config", json={"catalog_key": "nope", "config": {}}, headers=headers
    )
    assert unknown.status_code == 404 and "detail" in unknown.json()


async def test_bodies_list_413_and_422_and_400_has_the_error_map(client):
    found = operations((await client.get("/openapi.json")).json())
    create = found["POST /api/connectors"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "404", "409", "413", "422"}
    assert schema_of(create, "400") == {"$ref": "#/components/schemas/ErrorMap"}
    assert schema_of(create, "422") == {"$ref": "#/components/schemas/HTTPValidationError"}
    assert "413" not in found["GET /api/catalog"]["responses"]
    assert list(create["responses"]) == sorted(create["responses"])


async def test_an_embedding_app_gets_the_statuses_on_our_routes_only(hub):
    host = FastAPI()

    @host.get("/own/{thing}")
    async def own(thing: str) -> dict[str, str]:
        return {"thing": thing}

    include_connectors(host, hub, prefix="/connectors", pages=False)
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        found = operations((await client.get("/openapi.json")).json())
    assert "401" in found["GET /connectors/api/catalog/{id_or_key}"]["responses"]
    assert "404" in found["GET /connectors/api/catalog/{id_or_key}"]["responses"]
    assert set(found["GET /own/{thing}"]["responses"]) == {"200", "422"}
