"""200 concurrent callers whose OAuth token has just expired: how many refreshes the provider
saw (must be 1), and the p99 latency they pay for it beside the same callers with a valid
token, measured in the same run.

In one process, as a publish job would use a token: the local authorization server
(tests/fixtures/oauth_server.py: PKCE, refresh-token rotation with reuse detection, X's
`GET /2/users/me` guarded by its bearer tokens) and a Hub on a fresh SQLite data dir (or, with
`--database-url`, a fresh PostgreSQL database used through a NOSUPERUSER NOBYPASSRLS role). A
`twitter` connector is connected with the real flow (authorize, code exchange with PKCE, account
lookup, tokens sealed). Each caller runs `call_with_token(keeper, tenant, holder, use)` where
`use` GETs `/2/users/me` with the bearer token through the hub's outbound client (a 401 is
AuthFailed, as in the drivers). All callers start together (one event releases them);
latency is per caller, from its start to its answer.

- valid: the stored token has an hour left — each caller reads it and uses it;
- expired: the token was renewed with a 2-second lifetime (outside the measurement), then left
  to expire, at ConnectorHub and at the provider alike — each caller finds it expired; one
  refreshes (process lock, cross-process lock, re-read, token endpoint, store), the others wait
  on the process lock and take the token it stored (oauth/tokens.py's handoff).

Rounds alternate the order of the two runs. The token endpoint answers at once (`token_delay`
0); its round trip as the hub saw it is printed beside. Exits 1 if a round saw refreshes != 1
on the expired run (or any on the valid one), any caller failed, or the expired run's callers
did not all use the one renewed token.

    .venv/bin/python bench/token_refresh.py [--callers 200] [--rounds 3]
    .venv/bin/python bench/token_refresh.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.fixtures.factories import make_workspace  # noqa: E402
from tests.fixtures.oauth_server import OAuthServer, oauth_server  # noqa: E402

from connectorhub.config import OAuthApp, Settings  # noqa: E402
from connectorhub.connector import service as connectors  # noqa: E402
from connectorhub.connector.schemas import ConnectorCreate  # noqa: E402
from connectorhub.hub import Hub  # noqa: E402
from connectorhub.kit.crypto import generate_key  # noqa: E402
from connectorhub.kit.driver_errors import AuthFailed, FatalError  # noqa: E402
from connectorhub.lifecycle import migrate_and_seed  # noqa: E402
from connectorhub.oauth import client as oauth_client  # noqa: E402
from connectorhub.oauth import service as oauth_service  # noqa: E402
from connectorhub.oauth.providers import CallbackBase  # noqa: E402
from connectorhub.oauth.tokens import Holder, TokenKeeper, call_with_token, usable  # noqa: E402

SHORT_LIFE = 2  # seconds: the token each expired run starts from, left to expire


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: p99 of 200 samples is the 198th smallest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered) - 1e-9) - 1)]


@dataclass
class Run:
    kind: str
    latencies: list[float]
    failures: list[str]
    refreshes: int
    refused: int  # 401s the provider answered (each makes that caller renew or re-read once)
    tokens: set[str]
    endpoint: list[float] = field(default_factory=list)  # token endpoint round trips (hub side)

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000 if self.latencies else float("nan")


@asynccontextmanager
async def postgres_database(server_url: str):
    """A fresh database and runtime role on `server_url`'s server (a superuser login), dropped
    after: (admin URL for migrations, app URL for the hub)."""
    tag = uuid.uuid4().hex[:8]
    name, role, password = f"chub_bench_tokens_{tag}", f"chub_bench_app_{tag}", "bench-" + tag
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await connection.execute(
            text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{password}'")
        )
    base = make_url(server_url).set(database=name)
    admin_url = base.render_as_string(hide_password=False)
    app_url = base.set(username=role, password=password).render_as_string(hide_password=False)
    try:
        yield admin_url, app_url, role
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()


async def grant(admin_url: str, role: str) -> None:
    """What an operator does once after `db upgrade` (README): the runtime role uses the tables."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ):
            await connection.execute(text(statement))
    await engine.dispose()


async def connect_x(hub: Hub, server: OAuthServer) -> tuple[str, Holder]:
    """A workspace and an X connector connected the way a user does it (Connect, approve at
    the provider, callback)."""
    workspace = await make_workspace(hub)
    owner = workspace.owner
    async with hub.work.workspace(workspace.slug, str(owner.user_id)) as scope:
        created = await connectors.install(scope, hub.box, ConnectorCreate(
            catalog_key="twitter", name="X", config={"account_label": "@bench"}))  # fmt: skip
    holder = Holder.connector(created.id)
    async with hub.work.workspace(workspace.slug, str(owner.user_id)) as scope:
        started = await oauth_service.start(
            scope, hub.box, hub.settings, holder, user_id=owner.user_id, web_session_id=None,
            callback=CallbackBase("http://127.0.0.1:9/oauth/callback", "public_url"),
        )  # fmt: skip
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(started.authorize_url, allow_redirects=False) as answer,
    ):
        back = answer.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    await oauth_service.finish(
        TokenKeeper.of(hub.context), params=params, user_id=owner.user_id, web_session_id=None
    )
    return workspace.slug, holder


async def measure(kind: str, keeper: TokenKeeper, tenant: str, holder: Holder, hub: Hub,
                  server: OAuthServer, callers: int, endpoint: list[float]) -> Run:  # fmt: skip
    refused = 0

    async def use(secrets: dict[str, str]) -> str:
        nonlocal refused
        token = secrets["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with hub.http.session.get(server.me_url, headers=headers,
                                        allow_redirects=False) as reply:  # fmt: skip
            await reply.read()
            if reply.status == 401:
                refused += 1
                raise AuthFailed("X refused the token", status_code=401)
            if reply.status != 200:
                raise FatalError(f"X answered {reply.status}", status_code=reply.status)
        return token

    go = asyncio.Event()
    latencies: list[float] = []
    failures: list[str] = []
    tokens: set[str] = set()

    async def caller() -> None:
        await go.wait()
        started = time.perf_counter()
        try:
            tokens.add(await call_with_token(keeper, tenant, holder, use))
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
            return
        latencies.append(time.perf_counter() - started)

    before, seen = server.refreshes, len(endpoint)
    tasks = [asyncio.create_task(caller()) for _ in range(callers)]
    await asyncio.sleep(0)  # every caller is waiting on the event
    go.set()
    await asyncio.gather(*tasks)
    return Run(kind, latencies, failures, server.refreshes - before, refused, tokens,
               endpoint[seen:])  # fmt: skip


async def expire_soon(keeper: TokenKeeper, tenant: str, holder: Holder, server: OAuthServer):
    """Renew the token now with a short life (as a provider does: the hub stores what it is
    told), then let it expire, here and at the provider."""
    current = (await usable(keeper, tenant, holder))["access_token"]
    server.access_token_lifetime = SHORT_LIFE
    await usable(keeper, tenant, holder, refused=current)
    server.access_token_lifetime = 3600
    await asyncio.sleep(SHORT_LIFE + 0.2)


def line(round_: int, run: Run) -> str:
    extra = ""
    if run.endpoint:
        extra = "  token endpoint " + " ".join(f"{d * 1000:.1f}" for d in run.endpoint) + " ms"
    return (f"round {round_} {run.kind:7}: p50 {run.p(0.50):7.1f} ms  p99 {run.p(0.99):7.1f} ms  "
            f"max {run.p(1.0):7.1f} ms  refreshes {run.refreshes}  401s {run.refused}  "
            f"tokens {len(run.tokens)}  failures {len(run.failures)}{extra}")  # fmt: skip


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server as a superuser (postgresql+psycopg://postgres@127.0.0.1:5432/test):"
        " a fresh database and runtime role are made on it and dropped after",
    )
    args = parser.parse_args()

    # The token endpoint's round trip as the hub sees it: a timing wrapper, the call unchanged.
    endpoint: list[float] = []
    refresh = oauth_client.refresh

    async def timed_refresh(*a, **k):
        started = time.perf_counter()
        try:
            return await refresh(*a, **k)
        finally:
            endpoint.append(time.perf_counter() - started)

    oauth_client.refresh = timed_refresh

    async with oauth_server() as server:
        server.add_client("x-app", secret="x-secret", auth_method="client_secret_basic")
        server.auto_approve = True
        server.token_delay = 0.0
        apps = {"twitter": OAuthApp(client_id="x-app", client_secret="x-secret",
                                    authorize_url=server.authorize_url,
                                    token_url=server.token_url)}  # fmt: skip
        common = dict(
            secret_keys=f"kbench:{generate_key()}",
            outbound_allow_networks="127.0.0.0/8",
            oauth_apps=apps,
            x_api_url=server.url,
        )
        with tempfile.TemporaryDirectory() as data_dir:
            if args.database_url:
                async with postgres_database(args.database_url) as (admin_url, app_url, role):
                    migrator = Hub(
                        Settings(database_url=admin_url, data_dir=Path(data_dir), **common)
                    )
                    await migrate_and_seed(migrator)
                    await migrator.stop()
                    await grant(admin_url, role)
                    hub = Hub(Settings(database_url=app_url, data_dir=Path(data_dir), **common))
                    runs = await bench(hub, server, args, endpoint)
                backend = "PostgreSQL"
            else:
                hub = Hub(Settings(data_dir=Path(data_dir), **common))
                await migrate_and_seed(hub)
                runs = await bench(hub, server, args, endpoint)
                backend = "SQLite"
    return report(runs, backend, args.callers)


async def bench(
    hub: Hub, server: OAuthServer, args, endpoint: list[float]
) -> list[tuple[Run, Run]]:
    await hub.start()
    try:
        keeper = TokenKeeper.of(hub.context)
        tenant, holder = await connect_x(hub, server)
        # Warm-up: pools, connections, the first-use paths of both runs.
        await measure("valid", keeper, tenant, holder, hub, server, args.callers, endpoint)
        await expire_soon(keeper, tenant, holder, server)
        await measure("expired", keeper, tenant, holder, hub, server, args.callers, endpoint)
        rounds = []
        for round_ in range(1, args.rounds + 1):
            done = {}
            for kind in ("valid", "expired") if round_ % 2 else ("expired", "valid"):
                if kind == "expired":
                    await expire_soon(keeper, tenant, holder, server)
                run = await measure(kind, keeper, tenant, holder, hub, server, args.callers,
                                    endpoint)  # fmt: skip
                print(line(round_, run), flush=True)
                for failure in sorted(set(run.failures))[:3]:
                    print("   failure:", failure)
                done[kind] = run
            valid, expired = done["valid"], done["expired"]
            print(f"round {round_}        : added p99 {expired.p(0.99) - valid.p(0.99):+7.1f} ms"
                  f"  expired/valid p99 {expired.p(0.99) / valid.p(0.99):.2f}", flush=True)  # fmt: skip
            rounds.append((valid, expired))
        return rounds
    finally:
        await hub.stop()


def report(rounds: list[tuple[Run, Run]], backend: str, callers: int) -> int:
    ok = all(
        v.refreshes == 0 and e.refreshes == 1 and not v.failures and not e.failures
        and len(v.latencies) == len(e.latencies) == callers and len(e.tokens) == 1
        for v, e in rounds
    )  # fmt: skip
    added = [e.p(0.99) - v.p(0.99) for v, e in rounds]
    ratios = [e.p(0.99) / v.p(0.99) for v, e in rounds]
    trips = [d * 1000 for _, e in rounds for d in e.endpoint]
    print(
        f"\n{backend}, {callers} concurrent callers, {len(rounds)} rounds: refreshes per expired "
        f"run {[e.refreshes for _, e in rounds]} (must be 1), failures "
        f"{sum(len(v.failures) + len(e.failures) for v, e in rounds)}\n"
        f"p99 valid {statistics.median(v.p(0.99) for v, _ in rounds):.1f} ms, expired "
        f"{statistics.median(e.p(0.99) for _, e in rounds):.1f} ms (medians of rounds): added p99 "
        f"{statistics.median(added):+.1f} ms, expired/valid {statistics.median(ratios):.2f}; "
        f"token endpoint round trip {statistics.median(trips) if trips else float('nan'):.1f} ms"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
