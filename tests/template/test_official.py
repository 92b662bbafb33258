"""Each official template, installed and run against a local server answering with the
provider's documented response shape; the request it sends is checked against the docs too."""

from __future__ import annotations

import pytest

from connectorhub.template.official import load_official

GITHUB_ISSUES = [
    {
        "number": 1347,
        "title": "Found a bug",
        "html_url": "https://github.com/octocat/Hello-World/issues/1347",
        "state": "open",
    },
    {
        "number": 1346,
        "title": "Docs typo",
        "html_url": "https://github.com/octocat/Hello-World/issues/1346",
        "state": "open",
    },
]
STRIPE_LIST = {
    "object": "list", "url": "/v1/customers", "has_more": True,
    "data": [{"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "jenny@example.com"},
             {"id": "cus_NffrFeUfNV2Hic", "object": "customer", "email": "ada@example.com"}],
}  # fmt: skip
AUTH0_TOKEN = {"access_token": "eyJz93a...k4laUWw", "token_type": "Bearer", "expires_in": 86400}
AUTH0_USERS = [{"user_id": "auth0|507f1f77bcf86cd799439020", "email": "john.doe@gmail.com"}]
SLACK_OK = {
    "ok": True,
    "channel": "C123ABC456",
    "ts": "1503435956.000247",
    "message": {"text": "Hi"},
}
WEATHER = {
    "weather": [{"id": 800, "main": "Clear", "description": "clear sky"}],
    "main": {"temp": 21.5, "humidity": 40}, "name": "Lisbon", "cod": 200,
}  # fmt: skip
HUBSPOT = {
    "id": "512",
    "properties": {"email": "ada@example.com"},
    "createdAt": "2026-11-23T10:00:00Z",
}

CASES = {
    "github-open-issues": dict(
        credentials=[("github", "bearer", {"token": "ghp-test-token"})],
        routes={"/repos/octocat/hello-world/issues": GITHUB_ISSUES},
        input={"owner": "octocat", "repo": "hello-world", "per_page": 2},
        output={"numbers": [1347, 1346], "titles": ["Found a bug", "Docs typo"],
                "urls": [i["html_url"] for i in GITHUB_ISSUES]},
        sent=("/repos/octocat/hello-world/issues", {"state": "open", "sort": "created", "direction": "desc", "per_page": "2", "page": "1"},
              {"Authorization": "Bearer ghp-test-token", "X-GitHub-Api-Version": "2022-11-28"}),
    ),
    "stripe-customers": dict(
        credentials=[("stripe", "bearer", {"token": "sk-test-token"})],
        routes={"/v1/customers": STRIPE_LIST},
        input={"limit": 2},
        output={"emails": ["jenny@example.com", "ada@example.com"],
                "ids": ["cus_NffrFeUfNV2Hib", "cus_NffrFeUfNV2Hic"],
                "next_starting_after": "cus_NffrFeUfNV2Hic", "has_more": True},
        # An empty optional input leaves its parameter out rather than sending it empty.
        sent=("/v1/customers", {"limit": "2"}, {"Authorization": "Bearer sk-test-token"}),
    ),
    "auth0-users": dict(
        credentials=[("auth0", "basic", {"username": "client-id", "password": "client-secret"})],
        routes={"/oauth/token": AUTH0_TOKEN, "/api/v2/users": AUTH0_USERS},
        input={"search": 'email:"john.doe@gmail.com"'},
        output={"emails": ["john.doe@gmail.com"], "ids": ["auth0|507f1f77bcf86cd799439020"]},
        sent=("/api/v2/users", {"q": 'email:"john.doe@gmail.com"', "search_engine": "v3", "per_page": "50"},
              {"Authorization": "Bearer eyJz93a...k4laUWw"}),
    ),
    "slack-post-message": dict(
        credentials=[("slack", "bearer", {"token": "xoxb-test"})],
        routes={"/api/chat.postMessage": SLACK_OK},
        input={"channel": "C123ABC456", "text": "Hi"},
        output={"ok": True, "ts": "1503435956.000247", "channel": "C123ABC456"},
        sent=("/api/chat.postMessage", {}, {"Authorization": "Bearer xoxb-test"}),
    ),
    "openweather-current": dict(
        credentials=[("openweather", "api_key", {"key": "owm-test-key"})],
        routes={"/data/2.5/weather": WEATHER},
        input={"city": "Lisbon,PT"},
        output={"place": "Lisbon", "temperature": 21.5, "conditions": "clear sky"},
        sent=("/data/2.5/weather", {"q": "Lisbon,PT", "units": "metric", "appid": "owm-test-key"}, {}),
    ),
    "hubspot-create-contact": dict(
        credentials=[("hubspot", "bearer", {"token": "pat-test"})],
        routes={"/crm/v3/objects/contacts": (HUBSPOT, 201)},
        input={"email": "ada@example.com", "firstname": "Ada"},
        output={"id": "512", "created_at": "2026-11-23T10:00:00Z"},
        sent=("/crm/v3/objects/contacts", {}, {"Authorization": "Bearer pat-test"}),
    ),
}  # fmt: skip


def test_every_official_template_is_covered():
    keys = {data["key"] for data in load_official()}
    assert len(keys) >= 5 and keys == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES))
async def test_official_template_runs_against_the_documented_shape(key, client, workspace, api):
    case = CASES[key]
    headers = workspace.owner.headers
    for path, answer in case["routes"].items():
        body, status = answer if isinstance(answer, tuple) else (answer, 200)
        api.json(path, body, status=status)
    installed = await client.post(
        f"/api/templates/{key}/install",
        json={"name": f"{key} test", "config": {"base_url": api.url}},
        headers=headers,
    )
    assert installed.status_code == 201, installed.text
    assert installed.json()["missing_credentials"] == [c[0] for c in case["credentials"]]
    for name, kind, values in case["credentials"]:
        made = await client.post(
            "/api/credentials",
            json={"name": name, "kind": kind, "allowed_hosts": ["127.0.0.1"], "values": values},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    connector_id = installed.json()["connector"]["id"]
    activated = await client.patch(
        f"/api/connectors/{connector_id}", json={"status": "active"}, headers=headers
    )
    assert activated.status_code == 200, activated.text
    run = await client.post(
        f"/api/connectors/{connector_id}/execute?wait=true",
        json={"input": case["input"]},
        headers=headers,
    )
    execution = run.json()
    assert execution["status"] == "succeeded", (execution["error"], execution["steps"])
    assert execution["output"] == case["output"]
    path, query, sent_headers = case["sent"]
    hit = api.hits_to(path)[-1]
    assert hit.query == query
    for name, value in sent_headers.items():
        assert hit.headers[name] == value
    for _, _, values in case["credentials"]:
        for secret in values.values():
            if secret not in ("client-id",):
                assert secret not in run.text  # redacted in the step records
