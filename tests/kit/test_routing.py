"""Input guards shared by every route: NUL characters and oversized bodies never reach the database."""

from __future__ import annotations

import pytest

NUL_BODIES = [
    {"catalog_key": "http", "name": "a\u0000b", "config": {"base_url": "https://a.example"}},
    {"catalog_key": "http\u0000", "name": "ab", "config": {"base_url": "https://a.example"}},
    {"catalog_key": "twitter", "name": "cfg", "config": {"account_label": "a\u0000b"}},
    {"catalog_key": "twitter", "name": "key", "config": {"account_label": "ab", "\u0000": 1}},
    {
        "catalog_key": "twitter",
        "name": "auth",
        "config": {"account_label": "ab"},
        "auth": {"access_token": "x\u0000"},
    },
]


@pytest.mark.parametrize("body", NUL_BODIES)
async def test_nul_in_a_json_body_is_422(client, workspace, body):
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.status_code == 422
    assert "NUL" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/installed?search=a%00",
        "/api/catalog/tw%00",
        "/api/catalog?category=%00",
        "/api/installed?tag=x%00y",
    ],
)
async def test_nul_in_the_url_is_422(client, workspace, url):
    response = await client.get(url, headers=workspace.owner.headers)
    assert response.status_code == 422


async def test_oversized_body_is_413(client, workspace):
    body = {
        "catalog_key": "http",
        "name": "big",
        "config": {"base_url": "https://a.example", "pad": "x" * 1_100_000},
    }
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.status_code == 413


async def test_guard_keeps_the_body_for_the_handler(client, workspace):
    # The guard reads the body to check it: the handler must still get all of it, unchanged
    # (a body over one receive chunk, with non-ASCII text, so a dropped or re-split chunk shows).
    headers = {f"X-Note-{n}": "naïve café ✓ " * 40 for n in range(150)}  # ~100 kB
    config = {"base_url": "https://a.example", "default_headers": headers}
    body = {"catalog_key": "http", "name": "fine", "config": config, "tags": ["kept"]}
    response = await client.post("/api/connectors", json=body, headers=workspace.owner.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["config"], created["tags"]) == ("fine", config, ["kept"])
    stored = await client.get(f"/api/installed/{created['id']}", headers=workspace.owner.headers)
    assert stored.json()["config"] == config


async def test_guard_ignores_content_type_case_and_catches_surrogates(client, workspace):
    import json

    headers = {**workspace.owner.headers, "Content-Type": "application/JSON"}
    nul = json.dumps(
        {"catalog_key": "http", "name": "a\u0000b", "config": {"base_url": "https://a.example"}}
    )
    assert (await client.post("/api/connectors", content=nul, headers=headers)).status_code == 422
    surrogate = '{"catalog_key": "http", "name": "s", "config": {"base_url": "https://a.example", "default_headers": {"X-A": "\\ud800"}}}'
    assert (
        await client.post("/api/connectors", content=surrogate, headers=headers)
    ).status_code == 422
    deep = "[" * 100_000 + "]" * 100_000
    assert (
        await client.post("/api/validate-config", content=deep, headers=headers)
    ).status_code == 422


@pytest.mark.both_backends
async def test_catalog_category_is_matched_literally(client, workspace):
    for category in ["So%\\", "%", "Soc_al"]:
        response = await client.get(
            "/api/catalog", params={"category": category}, headers=workspace.owner.headers
        )
        assert response.status_code == 200 and response.json()["total"] == 0


async def test_chunked_body_without_length_is_cut_off_at_the_limit(client, workspace):
    async def chunks():
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all, no Content-Length

    headers = {**workspace.owner.headers, "Content-Type": "application/json"}
    response = await client.post("/api/connectors", content=chunks(), headers=headers)
    assert response.status_code == 413


def http_body(timeout: str) -> str:
    """A connector whose config takes any number, `timeout` spliced in as raw JSON text."""
    return (
        '{"catalog_key": "http", "name": "n", "config": '
        f'{{"base_url": "https://a.example", "timeout_seconds": {timeout}}}}}'
    )


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
async def test_a_number_json_cannot_carry_is_422_not_stored_as_null(client, workspace, number):
    headers = {**workspace.owner.headers, "Content-Type": "application/json"}
    response = await client.post("/api/connectors", content=http_body(number), headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["request"]
    listed = await client.get("/api/installed", headers=workspace.owner.headers)
    assert listed.json()["total"] == 0


async def test_a_body_that_is_not_utf8_is_422(client, workspace):
    headers = {**workspace.owner.headers, "Content-Type": "application/json"}
    latin1 = '{"catalog_key": "http", "name": "café", "config": {}}'.encode("latin-1")
    response = await client.post("/api/connectors", content=latin1, headers=headers)
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"][0]["msg"]


async def test_finite_numbers_and_bad_syntax_keep_their_answers(client, workspace):
    headers = {**workspace.owner.headers, "Content-Type": "application/json"}
    created = await client.post("/api/connectors", content=http_body("1.5e1"), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["config"]["timeout_seconds"] == 15.0
    broken = await client.post("/api/connectors", content=b'{"name": ', headers=headers)
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
