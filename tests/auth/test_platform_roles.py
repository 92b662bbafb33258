"""Platform roles through the API: only a platform owner grants them, the last owner stays, and
a workspace role gives none of it."""

from __future__ import annotations

from connectorhub.tenant.models import Role
from tests.template.test_versions import with_platform_role


async def test_a_platform_owner_grants_and_takes_away_roles(client, hub, workspace):
    owner = await workspace.member(Role.admin)
    await with_platform_role(hub, owner, "owner")
    someone = await workspace.member(Role.member)
    granted = await client.post(
        "/api/admin/platform-roles", json={"email": someone.email, "role": "developer"},
        headers=owner.headers,
    )  # fmt: skip
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"email": someone.email, "platform_role": "developer"}
    events = await client.get(
        f"/api/audit-events?object_id={someone.user_id}", headers=workspace.owner.headers
    )
    changes = [e["changes"] for e in events.json()["items"] if e["action"].startswith("platform")]
    assert changes == [{"role": "developer"}]
    listed = await client.get("/api/admin/platform-roles", headers=someone.headers)
    assert listed.status_code == 200
    assert {"email": someone.email, "platform_role": "developer"} in listed.json()
    me = await client.get("/api/me", headers=someone.headers)
    assert me.json()["platform_role"] == "developer"
    # A developer or admin does not grant roles.
    refused = await client.post(
        "/api/admin/platform-roles", json={"email": someone.email, "role": "owner"},
        headers=someone.headers,
    )  # fmt: skip
    assert refused.status_code == 403
    removed = await client.post(
        "/api/admin/platform-roles", json={"email": someone.email, "role": "none"},
        headers=owner.headers,
    )  # fmt: skip
    assert removed.json()["platform_role"] is None
    missing = await client.post(
        "/api/admin/platform-roles", json={"email": "nobody@example.com", "role": "admin"},
        headers=owner.headers,
    )  # fmt: skip
    assert missing.status_code == 404
    await with_platform_role(hub, owner, None)


async def test_plain_users_see_no_platform_roles(client, workspace):
    owner = workspace.owner.headers  # a workspace owner, not a platform one
    assert (await client.get("/api/admin/platform-roles", headers=owner)).status_code == 403
    granted = await client.post(
        "/api/admin/platform-roles", json={"email": workspace.owner.email, "role": "owner"},
        headers=owner,
    )  # fmt: skip
    assert granted.status_code == 403


def _principal(platform_role: str | None, scopes: tuple[str, ...] = ("read", "write")):
    import uuid

    from connectorhub.auth.service import Principal

    return Principal(
        user_id=uuid.uuid4(), email="p@example.com", tenant_id="ws", role=Role.owner,
        scopes=scopes, token_id=None, platform_role=platform_role,
    )  # fmt: skip


def test_each_platform_role_gets_exactly_its_rights():
    rights = {
        role: (p.has_platform_role, p.authors_official, p.is_platform_admin, p.is_platform_owner)
        for role in (None, "developer", "admin", "owner")
        for p in [_principal(role)]
    }
    assert rights == {
        None: (False, False, False, False),
        "developer": (True, True, False, False),
        "admin": (True, True, True, False),
        "owner": (True, True, True, True),
    }
    # A read-only token acts on nothing, whatever its user's platform role.
    read_only = _principal("owner", ("read",))
    assert read_only.has_platform_role and not (
        read_only.authors_official or read_only.is_platform_admin or read_only.is_platform_owner
    )
