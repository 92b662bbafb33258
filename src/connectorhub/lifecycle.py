"""Bringing a database to life: migrate, seed the catalog, bootstrap the first owner."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connectorhub.auth.passwords import generate_password
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import create_user, issue_token
from connectorhub.catalog import service as catalog_service
from connectorhub.db import WorkspaceScope
from connectorhub.hub import Hub
from connectorhub.migrations.runner import upgrade
from connectorhub.template.official import seed_official
from connectorhub.tenant.models import Role
from connectorhub.tenant.service import add_membership, create_workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FirstOwner:
    email: str
    password: str
    workspace: str
    token: str


async def migrate_and_seed(hub: Hub) -> None:
    await upgrade(hub.engine)
    async with hub.work.transaction() as session:
        await catalog_service.seed(session, hub.settings.catalog_extra_dir)
    await seed_official(hub.work)


async def bootstrap_first_owner(hub: Hub) -> FirstOwner | None:
    """On a database with no users, create a workspace and its owner with a one-time password."""
    slug = hub.settings.bootstrap_workspace
    # One transaction: the workspace, its owner, the membership and the token, or none of them
    # (a half-made owner would never see the one-time password).
    async with hub.work.transaction() as session:
        if await UserRepository(session).count():
            return None
        await create_workspace(session, slug, slug.replace("-", " ").title())
        password = generate_password()
        user = await create_user(
            session, hub.settings.bootstrap_email, password, platform_role="owner"
        )
        scope = await WorkspaceScope.open(session, slug, actor=str(user.id))
        await add_membership(scope, user, Role.owner)
        _, token = await issue_token(scope, user.id, "bootstrap")
    return FirstOwner(email=user.email, password=password, workspace=slug, token=token)
