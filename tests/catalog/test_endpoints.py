from __future__ import annotations

import uuid

import pytest

from tests.fixtures import slow_tap


@pytest.mark.both_backends
async def test_list_and_filter(client, workspace):
    headers = workspace.owner.headers
    everything = (await client.get("/api/catalog", headers=headers)).json()
    assert everything["total"] == len(everything["items"]) >= 7
    keys = lambda r: [e["key"] for e in r.json()["items"]]  # noqa: E731
    assert keys(
        await client.get("/api/catalog", params={"category": "social"}, headers=headers)
    ) == ["linkedin", "twitter"]
    sources = keys(await client.get("/api/catalog", params={"kind": "source"}, headers=headers))
    # (the slow tap: other tests seed it into the shared database, from their own directory)
    assert set(sources) - {slow_tap.CATALOG_KEY} == {"postgres", "salesforce"}
    assert keys(
        await client.get("/api/catalog", params={"search": "wordpress"}, headers=headers)
    ) == ["wordpress"]
    assert keys(await client.get("/api/catalog", params={"search": "%_"}, headers=headers)) == []


async def test_get_by_key_or_id(client, workspace):
    headers = workspace.owner.headers
    by_key = await client.get("/api/catalog/twitter", headers=headers)
    assert by_key.status_code == 200
    entry = by_key.json()
    assert entry["capabilities"]["max_length"] == 280
    assert any(f["name"] == "access_token" and f["secret"] for f in entry["auth_fields"])
    by_id = await client.get(f"/api/catalog/{entry['id']}", headers=headers)
    assert by_id.json() == entry
    assert (await client.get("/api/catalog/nope", headers=headers)).status_code == 404
    assert (await client.get(f"/api/catalog/{uuid.uuid4()}", headers=headers)).status_code == 404


async def test_validate_config(client, workspace):
    headers = workspace.owner.headers
    ok = await client.post(
        "/api/validate-config",
        json={"catalog_key": "twitter", "config": {"account_label": "brand"}},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json() == {"valid": True, "errors": {}}
    bad = await client.post(
        "/api/validate-config",
        json={"catalog_key": "wordpress", "config": {"base_url": "nope", "site_label": "s"}},
        headers=headers,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == {
        "config.base_url": ["Must be a full URL, such as https://example.com."],
        "config.site_label": ["Must be at least 2 characters."],
    }
    unknown = await client.post(
        "/api/validate-config", json={"catalog_key": "nope", "config": {}}, headers=headers
    )
    assert unknown.status_code == 404
    malformed = await client.post(
        "/api/validate-config", json={"catalog_key": "twitter"}, headers=headers
    )
    assert malformed.status_code == 422


@pytest.mark.parametrize("base_url", ["ftp://x", "mailto:blog@example.com", "file:///tmp/x"])
async def test_wordpress_site_url_must_be_http_or_https(client, workspace, base_url):
    headers = workspace.owner.headers
    config = {"base_url": base_url, "site_label": "Blog"}
    checked = await client.post(
        "/api/validate-config", json={"catalog_key": "wordpress", "config": config}, headers=headers
    )
    installed = await client.post(
        "/api/connectors",
        json={"catalog_key": "wordpress", "name": "Blog", "config": config},
        headers=headers,
    )
    # One answer wherever the same config is refused: the error map and the same detail.
    expected = {
        "detail": "Validation failed",
        "errors": {"config.base_url": ["Must be a full URL, such as https://example.com."]},
    }
    assert (checked.status_code, checked.json()) == (400, expected)
    assert (installed.status_code, installed.json()) == (400, expected)


async def test_catalog_needs_a_token(client):
    assert (await client.get("/api/catalog")).status_code == 401
