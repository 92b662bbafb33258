"""The test OAuth 2.0 server (tests/fixtures/oauth_server.py), driven over real HTTP: the PKCE
code flow, consent, code replay, refresh rotation and reuse detection, expiry, client auth and
the switches tests use to make it misbehave."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote_plus, urljoin, urlsplit

import aiohttp
import pytest

from tests.fixtures.oauth_server import OAuthServer, oauth_server

REDIRECT = "http://127.0.0.1:9/callback?tenant=ws-a"
SCOPE = "tweet.read users.read offline.access"
UNAUTHORIZED = {"title": "Unauthorized", "status": 401}


@pytest.fixture
async def server() -> AsyncIterator[OAuthServer]:
    async with oauth_server() as running:
        running.add_client("app", "s3cret", redirect_uris=[REDIRECT])
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


async def authorize(http: aiohttp.ClientSession, server: OAuthServer, **params: str):
    query = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "st-1",
    }
    query.update(params)
    return await http.get(server.authorize_url, params=query, allow_redirects=False)


async def code_for(
    http: aiohttp.ClientSession, server: OAuthServer, challenge: str, **params: str
) -> str:
    """An auto-approved S256 authorization: the code it redirects back with."""
    server.auto_approve = True
    response = await authorize(
        http, server, code_challenge=challenge, code_challenge_method="S256", **params
    )
    assert response.status == 302
    return query_of(response.headers["Location"])["code"][0]


async def token(
    http: aiohttp.ClientSession,
    server: OAuthServer,
    form: dict[str, str],
    authorization: str | None = None,
) -> tuple[int, dict[str, Any]]:
    auth = basic("app", "s3cret") if authorization is None else authorization
    headers = {"Authorization": auth} if auth else {}
    async with http.post(server.token_url, data=form, headers=headers) as response:
        return response.status, await response.json()


async def signed_in(http: aiohttp.ClientSession, server: OAuthServer) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    status, body = await token(http, server, form)
    assert status == 200, body
    return body


async def refresh(
    http: aiohttp.ClientSession, server: OAuthServer, refresh_token: str, **extra: str
) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return await token(http, server, form)


async def me(http: aiohttp.ClientSession, server: OAuthServer, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    async with http.get(server.me_url, headers=headers) as response:
        return response.status


class FormReader(HTMLParser):
    """Reads the consent page's form: its action, hidden inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.hidden: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action, self.method = values["action"] or "", values["method"] or ""
        elif tag == "input" and values.get("type") == "hidden":
            self.hidden[values["name"] or ""] = values["value"] or ""
        elif tag == "button":
            self._button = values

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self.buttons[data] = (self._button["name"] or "", self._button["value"] or "")
            self._button = None


async def consent_form(http: aiohttp.ClientSession, server: OAuthServer) -> tuple[str, FormReader]:
    _, challenge = pkce()
    response = await authorize(http, server, code_challenge=challenge, code_challenge_method="S256")
    assert response.status == 200
    assert response.content_type == "text/html"
    text = await response.text()
    reader = FormReader()
    reader.feed(text)
    return text, reader


async def submit(
    http: aiohttp.ClientSession, server: OAuthServer, reader: FormReader, button: str
) -> aiohttp.ClientResponse:
    name, value = reader.buttons[button]
    assert reader.method == "post"
    return await http.post(
        urljoin(server.url, reader.action),
        data={**reader.hidden, name: value},
        allow_redirects=False,
    )


# --- authorization code flow with PKCE ---


async def test_auto_approved_pkce_code_flow(http, server):
    verifier, challenge = pkce()
    server.auto_approve = True
    response = await authorize(
        http, server, code_challenge=challenge, code_challenge_method="S256", prompt="consent"
    )
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/callback?")
    query = query_of(location)
    assert query["tenant"] == ["ws-a"]  # the redirect_uri's own query is kept
    assert query["state"] == ["st-1"]
    assert server.authorize_requests[0]["prompt"] == "consent"
    assert server.authorize_requests[0]["code_challenge"] == challenge

    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    async with http.post(
        server.token_url, data=form, headers={"Authorization": basic("app", "s3cret")}
    ) as answer:
        assert answer.status == 200
        assert answer.headers["Cache-Control"] == "no-store"
        body = await answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPE
    assert body["access_token"] in server.issued_access_tokens
    assert server.code_exchanges == 1
    assert server.token_requests == [{"form": form, "authorization": basic("app", "s3cret")}]

    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with http.get(server.me_url, headers=headers) as who:
        assert who.status == 200
        assert await who.json() == {
            "data": {"id": "2244994945", "name": "Test User", "username": "testuser"}
        }
    assert [hit.path for hit in server.hits] == ["/authorize", "/token", "/2/users/me"]
    assert server.bearer_valid(body["access_token"]) is True


@pytest.mark.parametrize(
    "params",
    [{}, {"code_challenge": "abc", "code_challenge_method": "plain"}, {"code_challenge": "abc"}],
)
async def test_authorize_without_an_s256_challenge_redirects_invalid_request(http, server, params):
    server.auto_approve = True
    response = await authorize(http, server, **params)
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["st-1"]
    assert "code" not in query


async def test_pkce_can_be_switched_off(http, server):
    server.require_pkce = False
    server.auto_approve = True
    response = await authorize(http, server)
    code = query_of(response.headers["Location"])["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, body = await token(http, server, form)
    assert status == 200
    assert body["scope"] == SCOPE


async def test_wrong_or_missing_verifier_is_invalid_grant(http, server):
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert await token(http, server, form) == (400, {"error": "invalid_grant"})
    wrong = {**form, "code_verifier": verifier[:-1] + ("A" if verifier[-1] != "A" else "B")}
    assert await token(http, server, wrong) == (400, {"error": "invalid_grant"})
    assert await token(http, server, {**form, "code_verifier": challenge}) == (
        400,
        {"error": "invalid_grant"},
    )
    # Failed attempts do not spend the code: the real client still gets its tokens.
    status, _ = await token(http, server, {**form, "code_verifier": verifier})
    assert status == 200
    assert server.code_exchanges == 1


async def test_redirect_uri_must_match_at_the_token_endpoint(http, server):
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://127.0.0.1:9/callback",
        "code_verifier": verifier,
    }
    assert await token(http, server, form) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize(
    ("client_id", "redirect_uri", "message"),
    [
        ("nobody", REDIRECT, "Unknown client."),
        ("app", "http://evil.example/callback", "Invalid redirect_uri."),
        ("app", "http://127.0.0.1:9/callback", "Invalid redirect_uri."),
    ],
)
async def test_unknown_client_or_redirect_uri_is_an_error_page_never_a_redirect(
    http, server, client_id, redirect_uri, message
):
    server.auto_approve = True
    _, challenge = pkce()
    response = await authorize(
        http,
        server,
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert response.status == 400
    assert "Location" not in response.headers
    assert response.content_type == "text/html"
    assert message in await response.text()


async def test_a_client_without_registered_uris_accepts_any_redirect_uri(http, server):
    server.add_client("open", "pw")
    _, challenge = pkce()
    server.auto_approve = True
    response = await authorize(
        http,
        server,
        client_id="open",
        redirect_uri="http://anywhere.example/cb",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert response.status == 302
    assert response.headers["Location"].startswith("http://anywhere.example/cb?code=")


# --- consent page ---


async def test_consent_page_names_the_client_and_scopes_and_approve_issues_a_code(http, server):
    text, reader = await consent_form(http, server)
    assert "<b>app</b>" in text
    for scope in SCOPE.split():
        assert f"<li>{scope}</li>" in text
    assert set(reader.buttons) == {"Approve", "Deny"}
    assert reader.action == "/authorize"

    response = await submit(http, server, reader, "Approve")
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert query["state"] == ["st-1"]
    assert query["tenant"] == ["ws-a"]
    assert len(query["code"][0]) > 20

    # The consent form is single use.
    again = await submit(http, server, reader, "Approve")
    assert again.status == 400
    assert "Location" not in again.headers


async def test_consent_deny_redirects_access_denied_with_the_state(http, server):
    _, reader = await consent_form(http, server)
    response = await submit(http, server, reader, "Deny")
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert query == {"tenant": ["ws-a"], "error": ["access_denied"], "state": ["st-1"]}


# --- code replay ---


async def test_a_replayed_code_is_invalid_grant_and_revokes_what_it_issued(http, server):
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    status, first = await token(http, server, form)
    assert status == 200
    assert await me(http, server, first["access_token"]) == 200

    assert await token(http, server, form) == (400, {"error": "invalid_grant"})
    assert await me(http, server, first["access_token"]) == 401
    assert await refresh(http, server, first["refresh_token"]) == (400, {"error": "invalid_grant"})
    assert server.code_exchanges == 1


async def test_an_expired_code_is_invalid_grant(http, server):
    clock = [1000.0]
    server.now = lambda: clock[0]
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    clock[0] += 60
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    assert await token(http, server, form) == (400, {"error": "invalid_grant"})


# --- refresh tokens ---


async def test_refresh_rotates_and_spends_the_old_token(http, server):
    server.detect_reuse = False  # isolate "spent" from family revocation
    first = await signed_in(http, server)
    status, second = await refresh(http, server, first["refresh_token"])
    assert status == 200
    assert set(second) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == SCOPE
    assert server.refreshes == 1

    assert await refresh(http, server, first["refresh_token"]) == (400, {"error": "invalid_grant"})
    assert server.refreshes == 1
    status, third = await refresh(http, server, second["refresh_token"])
    assert status == 200
    assert server.refreshes == 2
    assert await me(http, server, third["access_token"]) == 200
    assert server.issued_access_tokens == [
        first["access_token"],
        second["access_token"],
        third["access_token"],
    ]


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(http, server):
    first = await signed_in(http, server)
    other = await signed_in(http, server)  # another authorization: must survive
    _, second = await refresh(http, server, first["refresh_token"])

    assert await refresh(http, server, first["refresh_token"]) == (400, {"error": "invalid_grant"})
    assert await refresh(http, server, second["refresh_token"]) == (400, {"error": "invalid_grant"})
    assert await me(http, server, first["access_token"]) == 401
    assert await me(http, server, second["access_token"]) == 401
    assert await me(http, server, other["access_token"]) == 200
    status, _ = await refresh(http, server, other["refresh_token"])
    assert status == 200


async def test_without_rotation_the_answer_has_no_refresh_token_and_the_old_one_stays(http, server):
    server.rotate_refresh_tokens = False
    first = await signed_in(http, server)
    for expected in (1, 2):
        status, body = await refresh(http, server, first["refresh_token"])
        assert status == 200
        assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
        assert server.refreshes == expected
    assert await me(http, server, body["access_token"]) == 200
    assert await me(http, server, first["access_token"]) == 200


async def test_refresh_may_narrow_the_scope_but_not_widen_it(http, server):
    first = await signed_in(http, server)
    status, narrow = await refresh(http, server, first["refresh_token"], scope="tweet.read")
    assert (status, narrow["scope"]) == (200, "tweet.read")
    wide = await refresh(http, server, narrow["refresh_token"], scope="tweet.read tweet.write")
    assert wide == (400, {"error": "invalid_scope"})
    # The refresh token keeps the original grant's scope.
    status, back = await refresh(http, server, narrow["refresh_token"])
    assert (status, back["scope"]) == (200, SCOPE)


async def test_no_refresh_tokens_when_switched_off(http, server):
    server.issue_refresh_tokens = False
    body = await signed_in(http, server)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}


async def test_unknown_refresh_token_and_grant_type(http, server):
    assert await refresh(http, server, "nope") == (400, {"error": "invalid_grant"})
    assert await token(http, server, {"grant_type": "password"}) == (
        400,
        {"error": "unsupported_grant_type"},
    )
    assert server.refreshes == 0


async def test_concurrent_refreshes_with_one_token_trip_reuse_detection(http, server):
    first = await signed_in(http, server)
    server.token_delay = 0.2
    answers = await asyncio.gather(
        refresh(http, server, first["refresh_token"]),
        refresh(http, server, first["refresh_token"]),
    )
    assert sorted(status for status, _ in answers) == [200, 400]
    winner = next(body for status, body in answers if status == 200)
    # The loser presented a spent token: the family, winner's tokens included, is revoked.
    assert await me(http, server, winner["access_token"]) == 401


# --- expiry, revocation and the protected resource ---


async def test_an_access_token_expires_after_its_lifetime(http, server):
    clock = [500.0]
    server.now = lambda: clock[0]
    server.access_token_lifetime = 5
    body = await signed_in(http, server)
    assert body["expires_in"] == 5
    clock[0] += 4.9
    assert await me(http, server, body["access_token"]) == 200
    clock[0] += 0.1
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with http.get(server.me_url, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert await response.json() == UNAUTHORIZED
    assert server.bearer_valid(body["access_token"]) is False
    # The refresh token still works and its new access token is fresh.
    status, renewed = await refresh(http, server, body["refresh_token"])
    assert status == 200
    assert await me(http, server, renewed["access_token"]) == 200


async def test_expire_access_tokens_and_revoke_all(http, server):
    body = await signed_in(http, server)
    server.expire_access_tokens()
    assert await me(http, server, body["access_token"]) == 401
    status, renewed = await refresh(http, server, body["refresh_token"])
    assert status == 200
    assert await me(http, server, renewed["access_token"]) == 200

    server.revoke_all()
    assert await me(http, server, renewed["access_token"]) == 401
    assert await refresh(http, server, renewed["refresh_token"]) == (
        400,
        {"error": "invalid_grant"},
    )


@pytest.mark.parametrize("authorization", [None, "Bearer unknown", "Basic abc", "bearer"])
async def test_me_without_a_valid_bearer_is_401(http, server, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(server.me_url, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert await response.json() == UNAUTHORIZED


async def test_protect_registers_another_guarded_route(http, server):
    server.protect("/2/tweets", {"data": {"id": "1"}}, method="POST", status=201)
    body = await signed_in(http, server)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with http.post(server.url + "/2/tweets", json={"text": "hi"}, headers=headers) as ok:
        assert (ok.status, await ok.json()) == (201, {"data": {"id": "1"}})
    async with http.post(server.url + "/2/tweets", json={"text": "hi"}) as refused:
        assert (refused.status, await refused.json()) == (401, UNAUTHORIZED)
    async with http.get(server.url + "/2/tweets", headers=headers) as wrong_method:
        assert wrong_method.status == 405
    hits = server.hits_to("/2/tweets")
    assert [hit.method for hit in hits] == ["POST", "POST", "GET"]
    assert hits[0].body == b'{"text": "hi"}'


# --- switches ---


@pytest.mark.parametrize(
    "error", [(500, {"error": "server_error"}), (400, {"error": "invalid_grant"})]
)
async def test_token_error_answers_as_told_until_cleared(http, server, error):
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    server.token_error = error
    assert await token(http, server, form) == error
    assert server.code_exchanges == 0
    server.token_error = None
    status, _ = await token(http, server, form)
    assert status == 200
    assert server.code_exchanges == 1
    assert len(server.token_requests) == 2


async def test_granted_scope_replaces_the_requested_one(http, server):
    server.granted_scope = "tweet.read offline.access"
    body = await signed_in(http, server)
    assert body["scope"] == "tweet.read offline.access"
    status, renewed = await refresh(http, server, body["refresh_token"])
    assert (status, renewed["scope"]) == (200, "tweet.read offline.access")


# --- client authentication ---


async def test_client_secret_basic_form_urlencodes_id_and_secret(http, server):
    server.add_client("id:with space", "p@ss:wörd+", redirect_uris=[REDIRECT])
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge, client_id="id:with space")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    status, _ = await token(http, server, form, authorization=basic("id:with space", "p@ss:wörd+"))
    assert status == 200


@pytest.mark.parametrize(
    ("method", "secret", "credentials"),
    [
        ("client_secret_post", "pw", {"client_id": "c", "client_secret": "pw"}),
        ("none", None, {"client_id": "c"}),
    ],
)
async def test_client_secret_post_and_public_clients(http, server, method, secret, credentials):
    server.add_client("c", secret, auth_method=method, redirect_uris=[REDIRECT])
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge, client_id="c")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **credentials,
    }
    status, body = await token(http, server, form, authorization="")
    assert status == 200
    assert server.token_requests[-1]["authorization"] is None
    status, _ = await token(
        http,
        server,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], **credentials},
        authorization="",
    )
    assert status == 200


@pytest.mark.parametrize(
    ("authorization", "credentials"),
    [
        (basic("app", "wrong"), {}),  # wrong secret
        (basic("nobody", "s3cret"), {}),  # unknown client
        ("", {"client_id": "app", "client_secret": "s3cret"}),  # basic client, post method
        ("", {"client_id": "app"}),  # a confidential client posing as a public one
        ("", {}),  # no client at all
        (basic("post", "pw"), {}),  # post client, basic method
        ("", {"client_id": "post", "client_secret": "bad"}),
        ("", {"client_id": "public", "client_secret": "x"}),  # a public client has no secret
        ("Basic !!!", {}),
    ],
)
async def test_wrong_client_credentials_are_401_invalid_client(
    http, server, authorization, credentials
):
    server.add_client("post", "pw", auth_method="client_secret_post")
    server.add_client("public", auth_method="none")
    form = {"grant_type": "refresh_token", "refresh_token": "x", **credentials}
    async with http.post(
        server.token_url,
        data=form,
        headers={"Authorization": authorization} if authorization else {},
    ) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid_client"}


async def test_a_code_is_bound_to_its_client(http, server):
    server.add_client("other", "pw2", redirect_uris=[REDIRECT])
    verifier, challenge = pkce()
    code = await code_for(http, server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    assert await token(http, server, form, authorization=basic("other", "pw2")) == (
        400,
        {"error": "invalid_grant"},
    )
