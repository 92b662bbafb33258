"""PostgreSQL row-level security: the backstop behind the repository choke point.

Runs as the non-superuser runtime role (a superuser would bypass every policy)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from connectorhub.db import bind_tenant
from connectorhub.models import rls_tables
from tests.conftest import shared_postgres
from tests.fixtures.database import APP_ROLE
from tests.fixtures.factories import make_workspace


@pytest.fixture
def pg_hub(postgres_hub):
    return postgres_hub


@pytest.fixture
def client(postgres_client):
    return postgres_client


async def _install(client, ws, name: str) -> str:
    body = {"catalog_key": "http", "name": name, "config": {"base_url": "https://api.example.com"}}
    response = await client.post("/api/connectors", json=body, headers=ws.owner.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


# Shared tables with policies of their own (not per tenant_id): migration 0015.
SHARED_TABLES = ["connector_templates", "web_sessions"]


async def test_every_tenant_table_forces_rls():
    database = await shared_postgres()
    engine = create_async_engine(database.admin_url)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = ANY(:tables)"
                ),
                {"tables": rls_tables() + SHARED_TABLES},
            )
        ).all()
        role = (
            await connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                {"r": APP_ROLE},
            )
        ).one()
    await engine.dispose()
    assert sorted(r.relname for r in rows) == sorted(rls_tables() + SHARED_TABLES)
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
    assert not role.rolsuper and not role.rolbypassrls


async def test_rls_alone_stops_a_query_that_forgets_the_tenant_filter(pg_hub, client):
    a, b = await make_workspace(pg_hub), await make_workspace(pg_hub)
    a_id = await _install(client, a, "A's")
    b_id = await _install(client, b, "B's")
    async with pg_hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, a.slug)
        # Deliberately no WHERE tenant_id: only the policy stands between A and B's rows.
        visible = {str(r) for r in (await session.scalars(text("SELECT id FROM connectors"))).all()}
        assert a_id in visible and b_id not in visible
        # Nor can A touch B's row by id, or write a row into B.
        updated = await session.execute(
            text("UPDATE connectors SET name = 'pwned' WHERE id = :id"), {"id": uuid.UUID(b_id)}
        )
        assert updated.rowcount == 0
    async with pg_hub.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin():
                await bind_tenant(session, a.slug)
                await session.execute(
                    text(
                        "INSERT INTO audit_events (id, tenant_id, action, object_type, object_id, changes, created_at, updated_at) "
                        "VALUES (:id, :tenant, 'x', 'x', 'x', '{}', now(), now())"
                    ),
                    {"id": uuid.uuid4(), "tenant": b.slug},
                )


async def test_no_tenant_sees_no_rows_and_raises_nothing(pg_hub, client):
    ws = await make_workspace(pg_hub)
    await _install(client, ws, "Somebody's")
    async with pg_hub.sessionmaker() as session, session.begin():
        for table in rls_tables():
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0


async def test_pooled_connection_does_not_carry_the_tenant_into_the_next_transaction(
    pg_hub, client
):
    ws = await make_workspace(pg_hub)
    await _install(client, ws, "Pooled")
    database = await shared_postgres()
    # One pooled connection, so the second transaction surely reuses the first one's connection.
    engine = create_async_engine(database.app_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection, connection.begin():
            await connection.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": ws.slug}
            )
            assert await connection.scalar(text("SELECT count(*) FROM connectors")) == 1
            first_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == first_pid
            assert await connection.scalar(text("SELECT count(*) FROM connectors")) == 0
            assert not await connection.scalar(
                text("SELECT current_setting('app.tenant_id', true)")
            )
            await connection.rollback()
    finally:
        await engine.dispose()


async def test_api_requests_in_turn_never_leak_between_workspaces(pg_hub, client):
    """Many requests from two workspaces over the app's pool: each sees only its own rows."""
    a, b = await make_workspace(pg_hub), await make_workspace(pg_hub)
    await _install(client, a, "only-a")
    await _install(client, b, "only-b")
    for _ in range(10):
        for ws, name in ((a, "only-a"), (b, "only-b")):
            listed = (await client.get("/api/installed", headers=ws.owner.headers)).json()
            assert [item["name"] for item in listed["items"]] == [name]


async def test_identity_rows_are_visible_only_during_an_identity_lookup(pg_hub):
    from connectorhub.db import identity_lookup

    ws = await make_workspace(pg_hub)
    async with pg_hub.sessionmaker() as session, session.begin():
        assert await session.scalar(text("SELECT count(*) FROM memberships")) == 0
        async with identity_lookup(session):
            seen = await session.scalar(
                text("SELECT count(*) FROM memberships WHERE tenant_id = :t"), {"t": ws.slug}
            )
            assert seen == 1
        assert (
            await session.scalar(text("SELECT count(*) FROM api_tokens")) == 0
        )  # flag is off again
    async with pg_hub.sessionmaker() as session, session.begin(), identity_lookup(session):
        # Reading is allowed, writing is not: the rows are not even there for an UPDATE.
        changed = await session.execute(
            text("UPDATE memberships SET tenant_id = tenant_id WHERE tenant_id = :t"),
            {"t": ws.slug},
        )
        assert changed.rowcount == 0


async def test_an_identity_lookup_cannot_delete_or_change_another_workspaces_rows(pg_hub):
    from connectorhub.db import identity_lookup

    theirs = await make_workspace(pg_hub)
    mine = await make_workspace(pg_hub)
    for table in ("memberships", "api_tokens"):
        async with pg_hub.sessionmaker() as session, session.begin():
            await bind_tenant(session, mine.slug)
            async with identity_lookup(session):
                seen = await session.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": theirs.slug}
                )
                assert seen == 1  # reading is what the flag is for
                deleted = await session.execute(
                    text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": theirs.slug}
                )
                assert deleted.rowcount == 0, table
        async with pg_hub.sessionmaker() as session, session.begin(), identity_lookup(session):
            still = await session.scalar(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": theirs.slug}
            )
            assert still == 1


async def test_invitations_are_their_workspaces_and_identity_lookup_only_reads_them(pg_hub, client):
    from connectorhub.db import identity_lookup

    theirs, mine = await make_workspace(pg_hub), await make_workspace(pg_hub)
    invited = await client.post(
        "/api/members", json={"email": "invitee@example.com", "role": "viewer"},
        headers=theirs.owner.headers,
    )  # fmt: skip
    assert invited.status_code == 201, invited.text
    where = {"t": theirs.slug}
    async with pg_hub.sessionmaker() as session, session.begin():
        assert await session.scalar(text("SELECT count(*) FROM invitations")) == 0  # none bound
        await bind_tenant(session, mine.slug)
        assert await session.scalar(text("SELECT count(*) FROM invitations")) == 0
        async with identity_lookup(session):
            query = "SELECT count(*) FROM invitations WHERE tenant_id = :t"
            assert await session.scalar(text(query), where) == 1  # what the invitee reads
            for statement in (
                "UPDATE invitations SET role = 'owner' WHERE tenant_id = :t",
                "DELETE FROM invitations WHERE tenant_id = :t",
            ):
                assert (await session.execute(text(statement), where)).rowcount == 0
    async with pg_hub.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin():
                await bind_tenant(session, mine.slug)
                await session.execute(
                    text(
                        "INSERT INTO invitations (id, email, role, token_hash, expires_at, "
                        "tenant_id, created_at, updated_at) VALUES (:id, 'x@example.com', "
                        "'owner', :hash, now() + interval '1 day', :t, now(), now())"
                    ),
                    {"id": uuid.uuid4(), "hash": uuid.uuid4().hex, **where},
                )
    pending = (await client.get("/api/invitations", headers=theirs.owner.headers)).json()
    assert [(i["email"], i["role"]) for i in pending] == [("invitee@example.com", "viewer")]
