"""The step runner against a real local HTTP server playing the third-party API."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from connectorhub.definition.model import Definition
from connectorhub.definition.values import RunValues, WorkspaceCredential
from connectorhub.execution.responses import retry_after_seconds
from connectorhub.execution.runner import REDACTED, Runner
from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.outbound import backoff_delay, create_outbound_session
from connectorhub.kit.ssrf import AddressPolicy
from tests.execution.conftest import TEST_POLICY
from tests.fixtures.third_party import third_party_server


class Sleeps:
    """Stands in for asyncio.sleep so retries are observed without waiting."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def step_recorder():
    """A list of every step record as the runner reports it, and the callback that fills it."""
    records: list[dict] = []

    async def on_step(index, record):
        records.append(record.to_json())

    return records, on_step


def chain(base: str) -> Definition:
    return Definition.model_validate(
        {
            "input_schema": {
                "type": "object",
                "properties": {"page": {"type": "integer"}, "name": {"type": "string"}},
            },
            "steps": [
                {
                    "name": "login",
                    "method": "POST",
                    "url": f"{base}/oauth/token",
                    "auth": {
                        "type": "basic",
                        "username": "{{secrets.client_id}}",
                        "password": "{{secrets.client_secret}}",
                    },
                    "body": {"grant_type": "client_credentials"},
                    "extract": {"access_token": "$.access_token"},
                },
                {
                    "name": "list",
                    "url": f"{base}/items",
                    "auth": {"type": "bearer", "token": "{{steps.login.access_token}}"},
                    "query": {"page": "{{input.page}}"},
                    "extract": {"ids": "$.items[*].id", "next": "$.next"},
                },
                {
                    "name": "notify",
                    "method": "POST",
                    "url": f"{base}/hooks/{{{{input.name}}}}",
                    "headers": {"X-Trace": "run-{{input.page}}"},
                    "body": {
                        "ids": "{{step_2.ids}}",
                        "count": "{{input.page}}",
                        "text": "got {{step_2.ids}}",
                    },
                    "expect_status": [202],
                    "extract": {"hook_id": "$.id"},
                },
            ],
            "output": {"ids": "{{steps.list.ids}}", "hook": "{{steps.notify.hook_id}}"},
        }
    )


VALUES = RunValues(
    input={"page": 2, "name": "a/b c"},
    config={},
    secrets={"client_id": "client-1", "client_secret": "very-secret-value"},
)


async def test_a_three_step_chain_passes_values_and_records_each_step(api, outbound):
    api.json("/oauth/token", {"access_token": "tok-abc123", "expires_in": 3600})
    api.json("/items", {"items": [{"id": 1}, {"id": 2}], "next": None})
    api.json("/hooks/a%2Fb%20c", {"id": "h-9"}, status=202)
    records = {}

    async def on_step(index, record):
        records[index] = record.to_json()

    output = await Runner(outbound, TEST_POLICY).run(chain(api.url), VALUES, on_step)

    assert output == {"ids": [1, 2], "hook": "h-9"}
    login, listing, notify = api.hits
    assert (
        login.headers["Authorization"]
        == "Basic " + base64.b64encode(b"client-1:very-secret-value").decode()
    )
    assert json.loads(login.body) == {"grant_type": "client_credentials"}
    assert listing.headers["Authorization"] == "Bearer tok-abc123"
    assert listing.query == {"page": "2"}
    assert notify.path == "/hooks/a%2Fb%20c"  # the input cannot add a path segment
    assert json.loads(notify.body) == {"ids": [1, 2], "count": 2, "text": "got [1,2]"}
    assert notify.headers["X-Trace"] == "run-2"

    assert [r["status"] for r in records.values()] == ["succeeded"] * 3
    assert records[0]["extracted"] == {"access_token": REDACTED}
    assert records[1]["request"]["headers"]["Authorization"] == REDACTED
    assert records[1]["extracted"] == {"ids": [1, 2], "next": None}
    assert records[2]["status_code"] == 202 and records[2]["duration_ms"] >= 0
    stored = json.dumps(records)
    assert "tok-abc123" not in stored and "very-secret-value" not in stored


async def test_relative_urls_join_the_configured_base_url(api, outbound):
    api.json("/v1/users/7", {"name": "Ada"})
    definition = Definition(
        steps=[{"name": "user", "url": "users/{{input.id}}", "extract": {"name": "$.name"}}]
    )
    values = RunValues(
        input={"id": 7},
        config={"base_url": f"{api.url}/v1/", "default_headers": {"X-Team": "core"}},
    )
    assert await Runner(outbound, TEST_POLICY).run(definition, values) == {"user": {"name": "Ada"}}
    assert api.hits[0].headers["X-Team"] == "core"


async def test_5xx_then_success_retries_honouring_retry_after(api, outbound):
    api.sequence("/flaky", (503, {"e": 1}, {"Retry-After": "2"}), (200, {"ok": True}, {}))
    sleeps = Sleeps()
    definition = Definition(
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/flaky",
                "extract": {"ok": "$.ok"},
                "retry": {"max_attempts": 3, "backoff_seconds": 0.1},
            }
        ]
    )
    records, on_step = step_recorder()

    assert await Runner(outbound, TEST_POLICY, sleep=sleeps).run(
        definition, RunValues(input={}, config={}), on_step
    ) == {"s": {"ok": True}}
    assert len(api.hits) == 2
    assert sleeps.waits == [2.0]  # the server's wish beats the 0.05-0.1 s backoff
    assert records[-1]["attempt"] == 2


async def test_retries_stop_at_max_attempts_with_growing_capped_backoff(api, outbound):
    api.json("/down", {"error": "busy"}, status=502)
    sleeps = Sleeps()
    definition = Definition(
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/down",
                "retry": {"max_attempts": 5, "backoff_seconds": 1, "max_backoff_seconds": 3},
            }
        ]
    )
    with pytest.raises(RetriableError, match="answered 502"):
        await Runner(outbound, TEST_POLICY, sleep=sleeps).run(
            definition, RunValues(input={}, config={})
        )
    assert len(api.hits) == 5 and len(sleeps.waits) == 4
    ceilings = [1, 2, 3, 3]
    for wait, ceiling in zip(sleeps.waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


async def test_a_retry_after_beyond_the_cap_fails_instead_of_waiting(api, outbound):
    api.json("/limited", {"error": "slow down"}, status=429, **{"Retry-After": "3600"})
    sleeps = Sleeps()
    definition = Definition(
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/limited",
                "retry": {"max_attempts": 3, "max_backoff_seconds": 30},
            }
        ]
    )
    with pytest.raises(RetriableError, match="asked to wait 3600 s") as caught:
        await Runner(outbound, TEST_POLICY, sleep=sleeps).run(
            definition, RunValues(input={}, config={})
        )
    assert caught.value.retry_after == 3600 and sleeps.waits == [] and len(api.hits) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_fail_fast(api, outbound, status):
    api.json("/me", {"error": "bad token"}, status=status)
    sleeps = Sleeps()
    definition = Definition(steps=[{"name": "s", "url": f"{api.url}/me"}])
    with pytest.raises(AuthFailed, match=f"answered {status}"):
        await Runner(outbound, TEST_POLICY, sleep=sleeps).run(
            definition, RunValues(input={}, config={})
        )
    assert len(api.hits) == 1 and sleeps.waits == []


async def test_an_unexpected_status_is_fatal_with_the_reply_excerpt(api, outbound):
    api.json("/missing", {"error": "no such user"}, status=404)
    definition = Definition(steps=[{"name": "s", "url": f"{api.url}/missing"}])
    with pytest.raises(FatalError, match=r"answered 404, expected 2xx.*no such user"):
        await Runner(outbound, TEST_POLICY).run(definition, RunValues(input={}, config={}))
    assert len(api.hits) == 1


async def test_connection_refused_and_timeouts_are_retriable(api, outbound):
    async def slow(request):
        await asyncio.sleep(2)
        return web.json_response({})

    api.route("/slow", slow)
    sleeps = Sleeps()
    runner = Runner(outbound, TEST_POLICY, sleep=sleeps)
    timeout = Definition(
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/slow",
                "timeout_seconds": 0.2,
                "retry": {"max_attempts": 2},
            }
        ]
    )
    with pytest.raises(RetriableError, match=r"no answer .* within 0\.2 s"):
        await runner.run(timeout, RunValues(input={}, config={}))
    assert len(api.hits_to("/slow")) == 2

    async with third_party_server() as gone:
        closed_port = gone.port
    refused = Definition(
        steps=[
            {"name": "s", "url": f"http://127.0.0.1:{closed_port}/", "retry": {"max_attempts": 2}}
        ]
    )
    with pytest.raises(RetriableError, match="could not connect"):
        await runner.run(refused, RunValues(input={}, config={}))


async def test_a_line_break_in_a_header_is_refused_before_connecting(api, outbound):
    definition = Definition(
        steps=[{"name": "s", "url": f"{api.url}/x", "headers": {"X-Name": "{{input.name}}"}}]
    )
    with pytest.raises(FatalError, match="line break"):
        await Runner(outbound, TEST_POLICY).run(
            definition, RunValues(input={"name": "a\r\nX-Admin: 1"}, config={})
        )
    assert api.hits == []


async def test_a_workspace_credential_goes_only_to_its_allowed_hosts(api, outbound):
    api.json("/x", {})
    definition = Definition(
        credentials=["crm"],
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/x",
                "auth": {
                    "type": "api_key",
                    "in": "query",
                    "name": "key",
                    "value": "{{workspace.crm}}",
                },
            }
        ],
    )
    elsewhere = RunValues(
        input={},
        config={},
        workspace={"crm": WorkspaceCredential("crm-key-123", ["api.crm.example", "*.crm.example"])},
    )
    with pytest.raises(FatalError, match=r"'crm' may only be sent to api\.crm\.example"):
        await Runner(outbound, TEST_POLICY).run(definition, elsewhere)
    assert api.hits == []

    here = RunValues(
        input={}, config={}, workspace={"crm": WorkspaceCredential("crm-key-123", ["127.0.0.1"])}
    )
    records, on_step = step_recorder()

    await Runner(outbound, TEST_POLICY).run(definition, here, on_step)
    assert api.hits[0].query == {"key": "crm-key-123"}
    assert records[-1]["request"]["query"] == {"key": REDACTED}


async def test_a_cross_host_redirect_drops_the_credentials(outbound):
    policy = AddressPolicy(["127.0.0.1/32", "127.0.0.2/32"])
    session = create_outbound_session(policy)
    async with third_party_server() as first, third_party_server("127.0.0.2") as other:

        async def to_other(request):
            raise web.HTTPFound(f"{other.url}/landing")

        async def same_host(request):
            raise web.HTTPTemporaryRedirect(f"{first.url}/final")

        first.route("/moved", to_other)
        first.route("/here", same_host)
        first.json("/final", {"ok": 1})
        other.json("/landing", {"ok": 2})
        values = RunValues(input={}, config={}, secrets={"token": "secret-token-1"})
        auth = {"type": "bearer", "token": "{{secrets.token}}"}
        try:
            runner = Runner(session, policy)
            await runner.run(
                Definition(
                    steps=[
                        {
                            "name": "a",
                            "url": f"{first.url}/moved",
                            "auth": auth,
                            "headers": {"X-Key": "{{secrets.token}}", "X-Plain": "p"},
                        },
                        {"name": "b", "url": f"{first.url}/here", "auth": auth},
                    ]
                ),
                values,
            )
        finally:
            await session.close()
        landing = other.hits[0].headers
        assert "Authorization" not in landing and "X-Key" not in landing
        assert landing["X-Plain"] == "p"
        assert first.hits_to("/final")[0].headers["Authorization"] == "Bearer secret-token-1"


async def test_extraction_problems_are_fatal_and_clear(api, outbound):
    api.json("/json", {"a": 1})

    async def html(request):
        return web.Response(text="<html>", content_type="text/html")

    api.route("/html", html)
    runner = Runner(outbound, TEST_POLICY)
    with pytest.raises(FatalError, match=r"extract b: \$.b matched nothing"):
        await runner.run(
            Definition(steps=[{"name": "s", "url": f"{api.url}/json", "extract": {"b": "$.b"}}]),
            RunValues(input={}, config={}),
        )
    with pytest.raises(FatalError, match="text/html, not JSON"):
        await runner.run(
            Definition(steps=[{"name": "s", "url": f"{api.url}/html", "extract": {"b": "$.b"}}]),
            RunValues(input={}, config={}),
        )


async def test_an_oversized_response_is_refused(api, outbound):
    async def huge(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(7):
            await response.write(b"x" * 1024 * 1024)
        return response

    api.route("/huge", huge)
    with pytest.raises(FatalError, match="larger than 5 MiB"):
        await Runner(outbound, TEST_POLICY).run(
            Definition(steps=[{"name": "s", "url": f"{api.url}/huge"}]),
            RunValues(input={}, config={}),
        )


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("120") == 120
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= retry_after_seconds(soon) <= 91
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(past) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_is_exponential_jittered_and_capped():
    for attempt, ceiling in [(1, 0.5), (2, 1), (3, 2), (8, 10)]:
        for _ in range(50):
            assert ceiling / 2 <= backoff_delay(attempt, 0.5, 10) <= ceiling


async def test_every_credential_in_a_header_is_host_checked(api, outbound):
    api.json("/x", {})
    definition = Definition(
        credentials=["crm"],
        steps=[
            {
                "name": "s",
                "url": f"{api.url}/x",
                "headers": {"X-Both": "{{secrets.k}} {{workspace.crm}}"},
            }
        ],
    )
    values = RunValues(
        input={},
        config={},
        secrets={"k": "connector-key"},
        workspace={"crm": WorkspaceCredential("crm-key-123", ["api.crm.example"])},
    )
    with pytest.raises(FatalError, match="may only be sent to"):
        await Runner(outbound, TEST_POLICY).run(definition, values)
    assert api.hits == []


async def test_secret_inputs_and_echoed_secrets_are_redacted_everywhere(api, outbound):
    api.json("/users/hunter2-secret", {"echo": "key was hunter2-secret"}, status=400)
    definition = Definition(steps=[{"name": "s", "url": f"{api.url}/users/{{{{input.pw}}}}"}])
    records, on_step = step_recorder()

    values = RunValues(input={"pw": "hunter2-secret"}, config={}, secret_inputs={"pw"})
    with pytest.raises(FatalError) as caught:
        await Runner(outbound, TEST_POLICY).run(definition, values, on_step)
    assert "hunter2-secret" not in caught.value.message
    assert "hunter2-secret" not in json.dumps(records)


def test_odd_retry_after_values_are_ignored_not_fatal():
    assert retry_after_seconds("²") is None and retry_after_seconds("-5") is None
