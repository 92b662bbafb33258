"""Templates never carry credentials: literal secrets are found, placeholders are not."""

from __future__ import annotations

import pytest

from connectorhub.template.literal_secrets import literal_secret_errors


def step(**fields) -> dict:
    return {"steps": [{"name": "call", "url": "/x", **fields}]}


LEAKS = [
    (step(headers={"Authorization": "Bearer abc123"}), "definition.steps[0].headers.Authorization"),
    (
        step(headers={"authorization": "Basic dXNlcjpwYXNz"}),
        "definition.steps[0].headers.authorization",
    ),
    (step(headers={"X-API-Key": "12345"}), "definition.steps[0].headers.X-API-Key"),
    (
        step(headers={"Authorization": "Bearer {{workspace.gh}} extra"}),
        "definition.steps[0].headers.Authorization",
    ),
    (step(query={"api_key": "abcdef"}), "definition.steps[0].query.api_key"),
    (step(query={"access_token": "t0k3n"}), "definition.steps[0].query.access_token"),
    (step(query={"client_secret": "s3cr3t"}), "definition.steps[0].query.client_secret"),
    (step(body={"password": "hunter2"}), "definition.steps[0].body.password"),
    (
        step(body={"auth": {"refresh_token": "r-123"}}),
        "definition.steps[0].body.auth.refresh_token",
    ),
    (step(auth={"type": "bearer", "token": "abc"}), "definition.steps[0].auth.token"),
    (
        step(auth={"type": "basic", "username": "u", "password": "p"}),
        "definition.steps[0].auth.password",
    ),
    (
        step(auth={"type": "api_key", "in": "query", "name": "k", "value": "v"}),
        "definition.steps[0].auth.value",
    ),
    (step(url="/v1?x=ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "definition.steps[0].url"),
    (step(url="https://user:pa55@example.com/x"), "definition.steps[0].url"),
    (step(body={"note": "AKIAIOSFODNN7EXAMPLE"}), "definition.steps[0].body.note"),
    (step(body={"k": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}), "definition.steps[0].body.k"),
    (step(body={"t": "xoxb-123456789012-abcdefghij"}), "definition.steps[0].body.t"),
    (
        step(body={"jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"}),
        "definition.steps[0].body.jwt",
    ),
    (step(body={"x": "AIzaSyA-1234567890abcdefghijklmnopqrstu"}), "definition.steps[0].body.x"),
    (step(body={"blob": "Zx9Qm2Lp8Rt4Vw6Yb1Nc3Df5Gh7Jk0Ms2Pq"}), "definition.steps[0].body.blob"),
    (step(body={"pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}), "definition.steps[0].body.pem"),
]


@pytest.mark.parametrize(("definition", "path"), LEAKS)
def test_a_literal_secret_is_refused_with_its_path(definition, path):
    errors = literal_secret_errors(definition, {})
    assert path in errors, errors
    assert "placeholder" in errors[path][0]


def test_a_secret_in_the_default_config_is_refused():
    errors = literal_secret_errors(
        step(), {"base_url": "https://x", "default_headers": {"Authorization": "Bearer abc"}}
    )
    assert list(errors) == ["default_config.default_headers.Authorization"]


SAFE = [
    step(headers={"Authorization": "Bearer {{workspace.github}}"}),
    step(headers={"Authorization": "{{ secrets.token }}"}),
    step(headers={"Accept": "application/json", "X-GitHub-Api-Version": "2022-11-28"}),
    step(query={"api_key": "{{workspace.weather}}", "units": "metric", "page": "{{input.page}}"}),
    step(auth={"type": "bearer", "token": "{{steps.login.access_token}}"}),
    step(auth={"type": "basic", "username": "admin", "password": "{{workspace.ci.password}}"}),
    step(url="/repos/{{input.owner}}/{{input.repo}}/issues/123e4567-e89b-12d3-a456-426614174000"),
    step(body={"grant_type": "client_credentials", "client_secret": "{{workspace.a.password}}"}),
    step(extract={"token": "$.access_token", "next": "$.paging.next"}),
    step(body={"description": "A sentence with ordinary words in it, nothing secret at all"}),
]


@pytest.mark.parametrize("definition", SAFE)
def test_placeholders_and_ordinary_values_pass(definition):
    assert literal_secret_errors(definition, {"base_url": "https://api.example.com/v1"}) == {}
