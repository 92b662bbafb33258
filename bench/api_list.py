"""Requests/s and p99 of `GET /api/installed` (page of 50) beside a floor measured in the same run.

The real app (`connectorhub.app:create_app`, uvicorn, no access log) on PostgreSQL with
1,000 workspaces x 100 connectors is driven by 10 concurrent aiohttp clients, each request with a
random workspace's API token. Beside it, under the very same uvicorn command, runs the *floor*:
`floor_app` below, a bare FastAPI endpoint running the same SQL through the same driver
(SQLAlchemy async + psycopg, same pool size): token lookup by hash, `set_config('app.tenant_id')`,
then the page-of-50 select joined with the catalog (its total a window count), from the app's own
repository code. It returns the same JSON, without the app's auth/membership/ORM/pydantic layers.
Rounds alternate (floor, hub, floor, hub) so that a noisy machine hurts both alike. "server CPU"
is the server process's CPU time per request (from /proc), the steadiest figure on a noisy box.
Both servers run `--workers N` processes (default: the CPU count, as `connectorhub serve` does on
PostgreSQL). Goals (issue 17, P4): hub >= 80% of the floor's req/s, hub p99 <= 50 ms at 10
clients, no errors (non-200s).

Run it from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth, superuser `postgres`):
    .venv/bin/python bench/api_list.py           # (re)create and seed `chub_bench`, then measure
    .venv/bin/python bench/api_list.py --keep    # reuse `chub_bench` if seeded with this shape
    options: --workspaces 1000 --connectors 100 --concurrency 10 --duration 10 --warmup 3
             --rounds 2 --db chub_bench --workers <cpu count>
Migrations and the seed (bulk COPY, ~10 s) run as the superuser; both servers connect as
`chub_bench_app`, NOSUPERUSER NOBYPASSRLS, so row-level security is in force (checked first).
The database is kept for `--keep`. Exit status 0 when every goal is met, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_json
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.auth.models import ApiToken, User
from connectorhub.auth.service import TOKEN_PREFIX, hash_token
from connectorhub.config import Settings
from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.credential.keys import load_keyring
from connectorhub.hub import Hub
from connectorhub.kit import json_codec
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import MASK, merge_secrets
from connectorhub.lifecycle import migrate_and_seed
from connectorhub.tenant.models import Membership

try:
    from uvloop import run as run_async  # the servers' event loop too (uvicorn[standard])
except ImportError:
    run_async = asyncio.run

HOST = "127.0.0.1"  # everything stays on loopback
APP_ROLE, APP_PASSWORD = "chub_bench_app", "chub-bench"  # benchmark-only role
# Fixed benchmark-only key and tokens, so that `--keep` can reuse a seeded database.
BENCH_KEYS = "bench1:" + base64.urlsafe_b64encode(hashlib.sha256(b"chub-bench").digest()).decode()
POOL_SIZE = Settings.model_fields["db_pool_size"].default  # the floor's pool is the app's
PAGE_SIZE = 50


def bench_token(i: int) -> str:
    digest = hashlib.sha256(f"chub-bench-token-{i}".encode()).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def workspace_id(i: int) -> str:
    return f"ws-{i:05d}"


# ------------------------------------------------------------------------------------- floor
def floor_app() -> FastAPI:  # run by uvicorn as `api_list:floor_app` (a factory)
    """Bare FastAPI: the app's SQL for `GET /api/installed`, and nothing else."""
    engine = create_async_engine(
        os.environ["CONNECTORHUB_DATABASE_URL"],
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        json_deserializer=json_codec.loads,  # the driver set up as the app sets it up
    )
    # The statements the app builds: identity_lookup + TokenLookup.with_member, bind_tenant,
    # search + paginate.
    scope = WorkspaceScope(session=None, tenant_id=bindparam("tenant"), actor=None)  # type: ignore[arg-type]
    listing = ConnectorRepository(scope)._with_catalog_summary().order_by(Connector.name)
    # As TenantRepository.paginate: the total as a window count beside the page's rows.
    page_sql = listing.add_columns(func.count().over().label("page_total")).limit(PAGE_SIZE)
    token_sql = (
        select(ApiToken, User.email, Membership.role)
        .join(User, User.id == ApiToken.user_id)
        .join(
            Membership,
            (Membership.user_id == ApiToken.user_id) & (Membership.tenant_id == ApiToken.tenant_id),
        )
        .where(ApiToken.token_hash == bindparam("hash"))
    )
    tenant_sql = select(text("set_config('app.tenant_id', :tenant, true)"))
    # As connectorhub.db.identity_lookup does around the token lookup (RLS on api_tokens).
    identity_on = text("SELECT set_config('app.identity_lookup', 'on', true)")
    identity_off = text("SELECT set_config('app.identity_lookup', '', true)")

    def item(r) -> dict:  # the fields of ConnectorRead, from the joined row
        stats = {"total": r.executions_total, "succeeded": r.executions_succeeded,
                 "failed": r.executions_failed, "last_run_at": r.last_run_at,
                 "avg_duration_ms": r.avg_duration_ms}  # fmt: skip
        return {
            "id": r.id, "name": r.name, "catalog_id": r.catalog_id, "catalog_key": r.key,
            "catalog_name": r.name_1, "kind": r.kind, "category": r.category, "icon": r.icon,
            "auth_type": r.auth_type, "status": r.status, "status_reason": r.status_reason,
            "config": r.config, "auth": dict.fromkeys(sorted(r.auth), MASK), "tags": r.tags,
            "last_test": r.last_test, "schedule": r.schedule, "stats": stats,
            "created_at": r.created_at, "updated_at": r.updated_at, "created_by": r.created_by,
            "updated_by": r.updated_by, "warnings": [],
        }  # fmt: skip

    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/installed")
    async def installed(request: Request, token: str = "") -> Response:
        token = token or request.headers.get("authorization", "").removeprefix("Bearer ")
        async with engine.begin() as conn:
            await conn.execute(identity_on)
            row = (await conn.execute(token_sql, {"hash": hash_token(token)})).first()
            await conn.execute(identity_off)
            if row is None or row.revoked_at is not None:
                return JSONResponse({"detail": "invalid token"}, status_code=401)
            tenant = {"tenant": row.tenant_id}
            await conn.execute(tenant_sql, tenant)
            rows = (await conn.execute(page_sql, tenant)).all()
            total = rows[0].page_total if rows else 0
        body = {"items": [item(r) for r in rows], "total": total, "page": 1, "page_size": PAGE_SIZE}
        return Response(to_json(body), media_type="application/json")  # FastAPI's own encoder

    return app


# ---------------------------------------------------------------------------------- database
def connect(db: str, user: str = "postgres") -> psycopg.Connection:
    password = APP_PASSWORD if user == APP_ROLE else ""
    return psycopg.connect(
        host=HOST, port=5432, user=user, password=password, dbname=db, autocommit=True
    )


def prepare_database(args: argparse.Namespace) -> str:
    """Create, migrate, seed and grant the database (or reuse it); returns the app role's URL."""
    with connect("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
            conn.execute(
                f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{APP_PASSWORD}'"
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,)).fetchone()
    shape = None
    if args.keep and exists:
        with connect(args.db) as conn, contextlib.suppress(psycopg.Error):  # not migrated: reseed
            shape = conn.execute("SELECT (SELECT count(*) FROM workspaces), "
                                 "(SELECT count(*) FROM connectors)").fetchone()  # fmt: skip
    if shape == (args.workspaces, args.workspaces * args.connectors):
        print(f"reusing database {args.db}: {shape[0]} workspaces, {shape[1]} connectors")
    else:
        create_and_seed(args)
    check_rls(args)
    return f"postgresql+psycopg://{APP_ROLE}:{APP_PASSWORD}@{HOST}:5432/{args.db}"


def create_and_seed(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    with connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')

    async def migrate() -> None:  # the app's own migrations and catalog seed, as the superuser
        url = f"postgresql+psycopg://postgres@{HOST}:5432/{args.db}"
        hub = Hub(Settings(database_url=url, secret_keys=BENCH_KEYS))
        try:
            await migrate_and_seed(hub)
        finally:
            await hub.stop()

    asyncio.run(migrate())
    with connect(args.db) as conn:
        bulk_seed(conn, args)
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"
        )
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {args.db} in {time.perf_counter() - started:.1f} s")


CONFIGS = {  # a plausible config per catalog entry; {j} is the connector's number
    "http": {"base_url": "https://api{j}.example.com/v2", "timeout_seconds": 30,
             "default_headers": {"Accept": "application/json", "X-Client": "chub"}},
    "linkedin": {"author_urn": "urn:li:person:{j}", "account_label": "Brand {j}",
                 "visibility": "PUBLIC"},
    "medium": {"account_label": "Blog {j}", "publication_id": "pub{j}", "default_tags": ["news"],
               "default_publish_status": "draft", "default_content_format": "markdown"},
    "postgres": {"host": "db{j}.internal.example.com", "port": 5432, "database": "analytics",
                 "filter_schemas": ["public", "sales"], "sslmode": "require"},
    "salesforce": {"start_date": "2024-01-01T00:00:00Z", "api_type": "BULK", "is_sandbox": False,
                   "select_fields_by_default": True, "quota_percent_total": 80},
    "twitter": {"account_label": "Handle {j}", "post_defaults": {"reply_settings": "everyone"}},
    "wordpress": {"base_url": "https://blog{j}.example.com", "site_label": "Site {j}",
                  "default_status": "draft"},
}  # fmt: skip
TAGS = ["prod", "staging", "marketing", "sales", "eu", "us", "critical", "nightly"]


def copy_rows(conn: psycopg.Connection, table: str, rows: Iterator[dict]) -> None:
    """COPY dict rows (all with the first row's keys) into `table`."""
    first = next(rows)
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(first)}) FROM STDIN") as cp,
    ):
        for row in itertools.chain([first], rows):
            cp.write_row(tuple(row.values()))


def bulk_seed(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    """Workspaces, one owner each with a membership and an API token, and their connectors."""
    now, rnd = datetime.now(UTC), random.Random(42)
    owners = [uuid.uuid4() for _ in range(args.workspaces)]
    stamps = {"created_at": now, "updated_at": now}
    ws = [{"id": workspace_id(i), "name": f"Workspace {i}", **stamps} for i in range(len(owners))]
    copy_rows(conn, "workspaces", iter(ws))
    users = [
        {"id": u, "email": f"owner{i}@bench.example.com", **stamps} for i, u in enumerate(owners)
    ]
    copy_rows(conn, "users", iter(users))
    copy_rows(conn, "memberships", (
        {"id": uuid.uuid4(), "user_id": u, "role": "owner", "tenant_id": workspace_id(i), **stamps}
        for i, u in enumerate(owners)
    ))  # fmt: skip
    copy_rows(conn, "api_tokens", (
        {"id": uuid.uuid4(), "user_id": u, "name": "bench", "prefix": bench_token(i)[:11],
         "token_hash": hash_token(bench_token(i)), "scopes": '["read", "write"]',
         "tenant_id": workspace_id(i), "created_by": str(u), "updated_by": str(u), **stamps}
        for i, u in enumerate(owners)
    ))  # fmt: skip
    catalog = conn.execute("SELECT id, key, auth_fields FROM connector_catalog ORDER BY key")
    copy_rows(conn, "connectors", connector_rows(list(catalog), owners, args.connectors, rnd, now))


def connector_rows(catalog: list, owners: list, per_workspace: int, rnd: random.Random,
                   now: datetime) -> Iterator[dict]:  # fmt: skip
    """Mixed statuses and catalog entries; auth sealed for real, as the app seals it."""
    box = SecretBox(load_keyring(Settings(secret_keys=BENCH_KEYS)))
    for i, owner in enumerate(owners):
        for j in range(per_workspace):
            catalog_id, key, auth_fields = catalog[j % len(catalog)]
            row_id, roll = uuid.uuid4(), rnd.random()
            status = "active" if roll < 0.6 else "inactive" if roll < 0.9 else "error"
            plain = {f["name"]: f"s3cr3t-{rnd.getrandbits(64):x}" for f in auth_fields}
            if status == "inactive" and rnd.random() < 0.3:
                plain = {}  # credentials not entered yet
            auth, _ = merge_secrets(box, tenant_id=workspace_id(i), table="connectors",
                                    row_id=row_id, stored={}, incoming=plain)  # fmt: skip
            ran = status != "inactive"
            total = rnd.randint(1, 5000) if ran else 0
            failed = rnd.randint(0, total // 10)
            created = now - timedelta(days=rnd.randint(1, 700))
            yield {
                "id": row_id, "catalog_id": catalog_id, "name": f"{key}-{j:03d}", "status": status,
                "status_reason": "upstream returned 401 Unauthorized" if status == "error" else None,
                "config": json.dumps(CONFIGS.get(key, {})).replace("{j}", str(j)),
                "auth": json.dumps(auth), "tags": json.dumps(rnd.sample(TAGS, rnd.randint(0, 4))),
                "last_test": json.dumps({"ok": status == "active", "latency_ms": 120}) if ran else None,
                "schedule": "*/15 * * * *" if ran and j % 3 == 0 else None,
                "executions_total": total, "executions_succeeded": total - failed,
                "executions_failed": failed,
                "last_run_at": now - timedelta(minutes=rnd.randint(1, 9999)) if ran else None,
                "avg_duration_ms": rnd.uniform(50, 5000) if ran else None,
                "tenant_id": workspace_id(i), "created_by": str(owner), "updated_by": str(owner),
                "created_at": created, "updated_at": created + timedelta(days=1),
            }  # fmt: skip


def check_rls(args: argparse.Namespace) -> None:
    """The app role must see no connector without a workspace, and one workspace's with one."""
    with connect(args.db, APP_ROLE) as conn, conn.transaction():
        role = conn.execute(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        unscoped = conn.execute("SELECT count(*) FROM connectors").fetchone()[0]
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (workspace_id(0),))
        scoped = conn.execute("SELECT count(*) FROM connectors").fetchone()[0]
    if role or unscoped != 0 or scoped != args.connectors:
        sys.exit(f"RLS is not in force for {APP_ROLE}: privileged={role} {unscoped=} {scoped=}")


# ----------------------------------------------------------------------------------- servers
@dataclass
class Server:
    name: str
    base: str
    path: str
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return self.base + self.path

    def cpu_seconds(self) -> float:
        """CPU time of the server and its worker processes (uvicorn --workers N forks them)."""
        return sum(_cpu_of(pid) for pid in _process_tree(self.proc.pid))


def _process_tree(pid: int) -> list[int]:
    pids, index = [pid], 0
    while index < len(pids):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pids[index]}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        index += 1
    return pids


def _cpu_of(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_server(
    name: str, factory: str, path: str, app_url: str, workdir: Path, workers: int
) -> Server:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "CONNECTORHUB_DATABASE_URL": app_url,
        "CONNECTORHUB_SECRET_KEYS": BENCH_KEYS,
        "CONNECTORHUB_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", factory,
               "--app-dir", str(Path(__file__).resolve().parent), "--host", HOST,
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    log = workdir / f"{name}.log"
    with log.open("w") as out:  # cwd is a temp dir: no stray .env or data dir is picked up
        proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, f"http://{HOST}:{port}", path, proc, log)


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the {server.name} server did not start:\n{server.log.read_text()[-3000:]}")


def stop_servers(servers: list[Server]) -> None:
    for server in servers:
        if server.proc.poll() is None:
            server.proc.terminate()
    for server in servers:
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


# -------------------------------------------------------------------------------------- load
@dataclass
class Result:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    def add(self, other: Result) -> None:
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds
        self.latencies += other.latencies
        self.errors += other.errors

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors.total()

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000 if ordered else 0

    def line(self) -> str:
        cpu = self.cpu_seconds / self.requests * 1000 if self.requests else 0.0
        errors = f"{self.errors.total()} {dict(self.errors)}" if self.errors else "0"
        return (f"{self.rps:7.1f} req/s  p50 {self.ms(0.5):6.1f} ms  p99 {self.ms(0.99):6.1f} ms"
                f"  server CPU {cpu:5.2f} ms/req  errors {errors}")  # fmt: skip


async def check_answer(server: Server, token: str, expected_total: int) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        body = await response.json() if response.status == 200 else await response.text()
    if response.status != 200 or (body["total"], len(body["items"])) != (
        expected_total, min(PAGE_SIZE, expected_total)
    ):  # fmt: skip
        sys.exit(f"unexpected answer from {server.url}: {response.status} {str(body)[:500]}")


async def run_load(server: Server, tokens: list[str], args: argparse.Namespace) -> Result:
    """`concurrency` clients for warm-up + duration; counts what completes inside the window."""
    result = Result(seconds=args.duration)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=30)  # a hung server fails the run instead of stalling
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        begin = time.perf_counter() + args.warmup
        end = begin + args.duration
        cpu_at_begin: list[float] = []

        async def client(seed: int) -> None:
            rnd = random.Random(seed)
            while (started := time.perf_counter()) < end:
                headers = {"Authorization": f"Bearer {rnd.choice(tokens)}"}
                try:
                    async with http.get(server.url, headers=headers) as response:
                        await response.read()
                        status: int | str = response.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status = type(exc).__name__
                finished = time.perf_counter()
                if begin <= finished <= end:
                    if not cpu_at_begin:
                        cpu_at_begin.append(server.cpu_seconds())
                    if status == 200:
                        result.latencies.append(finished - started)
                    else:
                        result.errors[status] += 1

        await asyncio.gather(*(client(seed) for seed in range(args.concurrency)))
        result.cpu_seconds = server.cpu_seconds() - (cpu_at_begin or [0.0])[0]
    return result


async def measure(servers: list[Server], args: argparse.Namespace) -> dict[str, Result]:
    tokens = [bench_token(i) for i in range(args.workspaces)]
    for server in servers:
        await check_answer(server, tokens[0], args.connectors)
    totals = {server.name: Result() for server in servers}
    for round_number in range(1, args.rounds + 1):
        for server in servers:
            result = await run_load(server, tokens, args)
            print(f"  round {round_number}  {server.name:5}  {result.line()}", flush=True)
            totals[server.name].add(result)
    return totals


def report(totals: dict[str, Result], args: argparse.Namespace) -> bool:
    floor, hub = totals["floor"], totals["hub"]
    ratio = hub.rps / floor.rps if floor.rps else 0.0
    goals = {
        f"hub req/s >= 80% of the floor's (ratio {ratio:.2f})": ratio >= 0.8,
        f"hub p99 <= 50 ms ({hub.ms(0.99):.1f} ms)": hub.ms(0.99) <= 50,
        "no errors": not (hub.errors or floor.errors),
    }
    print(f"\nGET /api/installed, page of {PAGE_SIZE}: {args.workspaces} workspaces x "
          f"{args.connectors} connectors, {args.concurrency} clients, {args.rounds} rounds x "
          f"{args.duration:g} s, {args.workers} server processes each, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  floor {floor.line()}\n  hub   {hub.line()}\n  ratio hub/floor {ratio:.2f}")
    for goal, met in goals.items():
        print(f"  [{'met' if met else 'MISSED'}] {goal}")
    return all(goals.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--connectors", type=int, default=100, help="per workspace")
    parser.add_argument("--concurrency", type=int, default=10, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each round")
    parser.add_argument("--rounds", type=int, default=2, help="floor/hub alternations")
    parser.add_argument("--keep", action="store_true", help="reuse the database if seeded")
    parser.add_argument("--db", default="chub_bench")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes, each server"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` cleans up

    app_url = prepare_database(args)
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="chub-bench-") as workdir:
        try:
            for name, factory, path in (
                ("floor", "api_list:floor_app", "/installed"),
                ("hub", "connectorhub.app:create_app", "/api/installed"),
            ):
                servers.append(
                    start_server(name, factory, path, app_url, Path(workdir), args.workers)
                )
            for server in servers:
                wait_ready(server)
            totals = run_async(measure(servers, args))
        finally:
            stop_servers(servers)
    return 0 if report(totals, args) else 1


if __name__ == "__main__":
    sys.exit(main())
