"""When a token is due for renewal, and how a token answer is kept (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectorhub.oauth.grant import grant_facts, is_due, parse, token_set

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
AHEAD = timedelta(minutes=5)


def facts(lifetime: timedelta) -> dict:
    return {"obtained_at": (NOW - lifetime).isoformat()}


def test_due_when_less_than_five_minutes_or_a_tenth_of_the_lifetime_is_left():
    two_hours = {"obtained_at": NOW.isoformat()}
    ends = NOW + timedelta(hours=2)
    # X's two-hour token: a tenth (12 minutes) is more than five minutes.
    assert not is_due(two_hours, ends, ends - timedelta(minutes=13), AHEAD)
    assert is_due(two_hours, ends, ends - timedelta(minutes=11), AHEAD)
    # A 60-day token: five minutes... and a tenth is six days.
    sixty_days = {"obtained_at": NOW.isoformat()}
    ends = NOW + timedelta(days=60)
    assert is_due(sixty_days, ends, ends - timedelta(days=5), AHEAD)
    assert not is_due(sixty_days, ends, ends - timedelta(days=7), AHEAD)
    # A one-minute token is not renewed on every use: only past half its life.
    one_minute = {"obtained_at": NOW.isoformat()}
    ends = NOW + timedelta(minutes=1)
    assert not is_due(one_minute, ends, NOW + timedelta(seconds=20), AHEAD)
    assert is_due(one_minute, ends, NOW + timedelta(seconds=31), AHEAD)
    assert not is_due(one_minute, None, NOW, AHEAD)  # no lifetime said: only a 401 tells


def test_a_token_answer_is_kept_with_its_lifetimes_and_scopes():
    tokens = token_set({"access_token": "a", "refresh_token": "r", "expires_in": 7200,
                        "refresh_token_expires_in": 31536000, "scope": "tweet.read users.read",
                        "token_type": "bearer", "id": "https://login/id/1"}, NOW)  # fmt: skip
    assert tokens.expires_at == NOW + timedelta(hours=2) and tokens.scopes == (
        "tweet.read",
        "users.read",
    )
    assert tokens.extra == {"id": "https://login/id/1"}
    kept = grant_facts(tokens, NOW)
    assert (
        kept["refreshable"] is True
        and kept["refresh_expires_at"] == (NOW + timedelta(days=365)).isoformat()
    )
    # A refresh answer without a refresh token or scope keeps what the grant had.
    renewed = grant_facts(
        token_set({"access_token": "b", "expires_in": 60}, NOW), NOW, earlier=kept
    )
    assert renewed["refreshable"] is True and renewed["scopes"] == ["tweet.read", "users.read"]


def test_pasted_expiry_times_are_read_leniently():
    assert parse("2026-12-02T12:00:00Z") == NOW
    assert parse("2026-12-02T12:00:00") == NOW  # no zone: UTC
    assert parse("next tuesday") is None and parse("") is None
