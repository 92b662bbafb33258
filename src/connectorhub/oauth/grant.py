"""What a token endpoint answered, as ConnectorHub keeps it, and when a token is due for
refresh. Secrets (the tokens) are sealed on the holder's row; the rest (scopes, lifetimes,
whether the grant is dead) is the holder's `oauth` column, read without any key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Never refresh a token that has more than half its life left, however short that life is:
# a 60-second token and a five-minute margin would otherwise refresh on every use.
MAX_MARGIN_SHARE = 0.5
LIFETIME_SHARE = 0.1  # "less than 10% of its lifetime left"

RECONNECT = "reconnect_needed"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: tuple[str, ...] | None  # None: the provider did not say (it granted what was asked)
    extra: dict[str, Any]  # the answer's other fields (Salesforce's `id`, `instance_url`)


def token_set(answer: dict[str, Any], now: datetime, separator: str = " ") -> TokenSet:
    """Raises ValueError for an answer without an access token or with an odd lifetime."""
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("the token endpoint's answer has no access_token")
    expires_in, refresh_expires_in = (
        answer.get("expires_in"),
        answer.get("refresh_token_expires_in"),
    )
    scope = answer.get("scope")
    known = {
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_token_expires_in",
        "scope",
        "token_type",
        "id_token",
    }
    return TokenSet(
        access_token=access,
        refresh_token=answer.get("refresh_token") or None,
        expires_at=now + timedelta(seconds=float(expires_in)) if expires_in is not None else None,
        refresh_expires_at=(
            now + timedelta(seconds=float(refresh_expires_in))
            if refresh_expires_in is not None
            else None
        ),
        scopes=tuple(s for s in str(scope).replace(",", " ").split() if s) if scope else None,
        extra={k: v for k, v in answer.items() if k not in known and isinstance(v, str | int)},
    )


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def parse(when: str | None) -> datetime | None:
    """An ISO 8601 time as stored, or as a user pasted it (no zone: UTC; unreadable: None)."""
    if not when:
        return None
    try:
        parsed = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def grant_facts(
    tokens: TokenSet,
    now: datetime,
    *,
    earlier: dict[str, Any] | None = None,
    scopes_asked: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The holder's `oauth` column after a connect (no `earlier`) or a refresh."""
    facts = dict(earlier or {})
    facts.pop("state", None)
    facts.pop("reason", None)
    facts.pop("warned_for", None)
    facts.update(
        obtained_at=now.isoformat(),
        expires_at=iso(tokens.expires_at),
        refreshable=bool(tokens.refresh_token) or bool(facts.get("refreshable")),
        state="ok",
        refresh_failures=0,
    )
    if tokens.scopes is not None or earlier is None:
        facts["scopes"] = list(tokens.scopes if tokens.scopes is not None else scopes_asked)
    if tokens.refresh_expires_at is not None:
        facts["refresh_expires_at"] = iso(tokens.refresh_expires_at)
    return facts


def refresh_margin(facts: dict[str, Any], expires_at: datetime, ahead: timedelta) -> timedelta:
    obtained = parse(facts.get("obtained_at"))
    lifetime = expires_at - obtained if obtained is not None else ahead * 2
    margin = max(ahead, lifetime * LIFETIME_SHARE)
    return min(margin, lifetime * MAX_MARGIN_SHARE)


def is_due(
    facts: dict[str, Any] | None, expires_at: datetime | None, now: datetime, ahead: timedelta
) -> bool:
    """The token should be renewed before it is used: expired, or close enough to it."""
    if expires_at is None:
        return False  # the provider gave no lifetime: only a 401 tells
    return expires_at - now <= refresh_margin(facts or {}, expires_at, ahead)


def is_dead(facts: dict[str, Any] | None) -> bool:
    return bool(facts) and facts.get("state") == RECONNECT
