"""OAuth's background work: renew the tokens that would be due before this job looks again
(so a scheduled sync or publication never waits on a token endpoint), and warn ahead of the
end of a token nothing can renew (LinkedIn's 60-day tokens for apps without refresh tokens);
an expired one of those is a dead grant: reconnect needed, notified once."""

from __future__ import annotations

import logging
from datetime import timedelta

from connectorhub.db import WorkspaceScope
from connectorhub.kit.driver_errors import DriverError
from connectorhub.kit.models import utcnow
from connectorhub.notification import service as notifications
from connectorhub.notification.models import Level
from connectorhub.oauth.grant import is_dead, parse
from connectorhub.oauth.repository import CredentialHolderRepository, TokenHolderRepository
from connectorhub.oauth.tokens import (
    ACTOR,
    Held,
    Holder,
    TokenKeeper,
    connect_link,
    load,
    provider_for,
    usable,
)
from connectorhub.worker.context import JobContext
from connectorhub.worker.registry import periodic

log = logging.getLogger(__name__)
EVERY = timedelta(minutes=5)  # the cron below


async def _holders(scope: WorkspaceScope) -> list[Holder]:
    connectors = await TokenHolderRepository(scope).with_tokens()
    credentials = await CredentialHolderRepository(scope).with_tokens()
    return [*map(Holder.connector, connectors), *map(Holder.credential, credentials)]


def _ending(held: Held, keeper: TokenKeeper) -> tuple[str, str] | None:
    """What will end that nothing renews, and when (ISO): the access token of a grant
    without a refresh token, or a refresh token that expires itself."""
    facts = held.facts
    provider = provider_for(held, keeper.settings)
    renewable = (
        bool(held.secrets.get("refresh_token")) and provider is not None and provider.configured
    )
    if not renewable and held.row.token_expires_at is not None:
        return "access token", held.row.token_expires_at.isoformat()
    if facts.get("refresh_expires_at"):
        return "refresh token", facts["refresh_expires_at"]
    return None


async def _warn_ahead(keeper: TokenKeeper, tenant_id: str, holder: Holder) -> bool:
    """One warning per ending (a new grant or token ends at another time, and is warned
    about again). Returns whether one was raised."""
    async with keeper.work.workspace(tenant_id, ACTOR) as scope:
        held = await load(scope, keeper.box, holder)
        if held is None or is_dead(held.facts):
            return False
        ending = _ending(held, keeper)
        if ending is None:
            return False
        what, when = ending
        ends = parse(when)
        assert ends is not None
        left = ends - utcnow()
        if left > timedelta(days=keeper.settings.oauth_expiry_warning_days) or left <= timedelta(0):
            return False
        if held.facts.get("warned_for") == when:
            return False
        held.row.oauth = {**held.facts, "warned_for": when}
        days = max(1, round(left.total_seconds() / 86400))
        await notifications.raise_(
            scope, kind="oauth.expiring", subject_id=holder.id, level=Level.warning,
            title=f"{held.name}: connection expires in {days} day{'s' if days != 1 else ''}",
            body=f"Its {what} ends on {ends:%Y-%m-%d %H:%M} UTC and cannot be renewed "
            "automatically. Connect it again before then to keep it working.",
            link=connect_link(holder),
        )  # fmt: skip
        return True


@periodic(cron="*/5 * * * *", embedded=True)
async def keep_tokens_alive(ctx: JobContext) -> dict[str, int]:
    """Renew every token that will be due before the next look; warn ahead of endings."""
    keeper = TokenKeeper.of(ctx)
    by_workspace = await ctx.work.for_each_workspace(ACTOR, _holders, keep_going=True)
    counts = {"checked": 0, "warned": 0, "failed": 0}
    for tenant_id, holders in by_workspace.items():
        for holder in holders:
            counts["checked"] += 1
            try:
                # Renews when due by then; an expired token nothing can renew is declared
                # dead there (reconnect needed, notified once).
                await usable(keeper, tenant_id, holder, horizon=EVERY)
            except DriverError as error:
                counts["failed"] += 1
                log.info("%s %s in %s: %s", holder.kind, holder.id, tenant_id, error.message)
                continue
            except Exception:  # one odd row (a key retired, a busy database) must not stop the rest
                counts["failed"] += 1
                log.exception("keeping the token of %s %s in %s alive failed", holder.kind,
                              holder.id, tenant_id)  # fmt: skip
                continue
            try:
                counts["warned"] += await _warn_ahead(keeper, tenant_id, holder)
            except Exception:  # one odd row must not stop the others
                log.exception(
                    "expiry warning for %s %s in %s failed", holder.kind, holder.id, tenant_id
                )
    return counts
