"""All SQL about templates, and the one place their visibility rules live.

On PostgreSQL row-level security applies the same rules (migration 0015): a platform admin's
repository turns on `app.platform_admin` for its transaction before its first statement.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Select, false, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.db import is_postgres
from connectorhub.exceptions import Conflict
from connectorhub.kit.repository import Page, escape_like
from connectorhub.template.models import (
    ConnectorTemplate,
    TemplateStatus,
    TemplateVersion,
    Visibility,
)


class TemplateRepository:
    """Templates as one workspace sees them: published official and public community ones, and
    everything it owns. A platform admin sees all of them (to moderate)."""

    def __init__(
        self, session: AsyncSession, tenant_id: str | None, *, platform_admin: bool = False,
        official_author: bool = False,
    ):  # fmt: skip
        self.session = session
        self.tenant_id = tenant_id
        self.platform_admin = platform_admin
        # A platform developer: official templates, drafts included, but no one else's drafts.
        self.official_author = official_author and not platform_admin

    async def _admit(self) -> None:
        """A platform admin's (or developer's) statements are admitted by RLS too (the flag is
        transaction-local: it ends with the request or job that set it)."""
        if not is_postgres(self.session):
            return
        if self.platform_admin:
            await self.session.execute(text("SELECT set_config('app.platform_admin', 'on', true)"))
        elif self.official_author:
            await self.session.execute(text("SELECT set_config('app.official_author', 'on', true)"))

    @asynccontextmanager
    async def _installing(self, template_id: uuid.UUID) -> AsyncIterator[None]:
        """Admit the one UPDATE of a published template another workspace is installing."""
        if not is_postgres(self.session):
            yield
            return
        setting = "SELECT set_config('app.template_install', :id, true)"
        await self.session.execute(text(setting), {"id": str(template_id)})
        yield  # no `finally`: a failed statement aborts the transaction (see db.identity_lookup)
        await self.session.execute(text(setting), {"id": ""})

    def _visible(self):
        if self.platform_admin:
            return None
        published = ConnectorTemplate.status == TemplateStatus.published.value
        public = or_(
            ConnectorTemplate.is_official,
            ConnectorTemplate.visibility == Visibility.public.value,
        )
        own = (
            ConnectorTemplate.owner_tenant_id == self.tenant_id
            if self.tenant_id is not None
            else false()
        )
        if self.official_author:
            return or_(published & public, own, ConnectorTemplate.is_official)
        return or_(published & public, own)

    def select(self, *columns) -> Select:
        statement = select(*columns) if columns else select(ConnectorTemplate)
        statement = statement.select_from(ConnectorTemplate)
        visible = self._visible()
        return statement if visible is None else statement.where(visible)

    async def get(self, id_or_key: str) -> ConnectorTemplate | None:
        await self._admit()
        try:
            match = ConnectorTemplate.id == uuid.UUID(id_or_key)
        except ValueError:
            match = ConnectorTemplate.key == id_or_key
        return (await self.session.execute(self.select().where(match))).scalar_one_or_none()

    async def lock(self, template: ConnectorTemplate) -> bool:
        """Lock `template`'s row for a change and refresh it; False when this workspace may not
        change it (on PostgreSQL, RLS leaves others' rows out of FOR UPDATE)."""
        await self._admit()
        statement = (
            select(ConnectorTemplate)
            .where(ConnectorTemplate.id == template.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def key_taken(self, key: str) -> bool:
        """Whether a template this repository can see has `key` (a platform admin sees all)."""
        await self._admit()
        statement = select(func.count()).where(ConnectorTemplate.key == key)
        return bool(await self.session.scalar(statement))

    async def add_new(self, template: ConnectorTemplate) -> ConnectorTemplate:
        """Insert `template`. Raises Conflict when its key is taken: keys are unique across the
        marketplace, also by drafts of other workspaces, which RLS keeps out of sight."""
        await self._admit()
        try:
            async with self.session.begin_nested():
                self.session.add(template)
                await self.session.flush()
        except IntegrityError:
            raise Conflict(f"a template with key {template.key!r} already exists") from None
        return template

    async def search(
        self,
        *,
        search: str | None,
        category: str | None,
        official: bool | None,
        featured: bool | None,
        mine: bool,
        page: int,
        page_size: int,
    ) -> Page[ConnectorTemplate]:
        await self._admit()
        statement = self.select().order_by(
            ConnectorTemplate.featured.desc(),
            ConnectorTemplate.install_count.desc(),
            ConnectorTemplate.name,
        )
        if mine:
            statement = statement.where(ConnectorTemplate.owner_tenant_id == self.tenant_id)
        else:
            statement = statement.where(ConnectorTemplate.status == TemplateStatus.published.value)
        if search:
            pattern = f"%{escape_like(search.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(ConnectorTemplate.name).like(pattern, escape="\\"),
                    func.lower(ConnectorTemplate.description).like(pattern, escape="\\"),
                )
            )
        if category:
            statement = statement.where(ConnectorTemplate.category == category)
        if official is not None:
            statement = statement.where(ConnectorTemplate.is_official.is_(official))
        if featured is not None:
            statement = statement.where(ConnectorTemplate.featured.is_(featured))
        total = await self.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )
        rows = await self.session.scalars(statement.limit(page_size).offset((page - 1) * page_size))
        return Page(items=rows.all(), total=total or 0, page=page, page_size=page_size)

    def add(self, template: ConnectorTemplate) -> ConnectorTemplate:
        self.session.add(template)
        return template

    async def count_install(self, template_id: uuid.UUID) -> None:
        await self._admit()
        statement = (
            update(ConnectorTemplate)
            .where(ConnectorTemplate.id == template_id)
            .values(install_count=ConnectorTemplate.install_count + 1)
            .execution_options(synchronize_session=False)
        )
        async with self._installing(template_id):
            await self.session.execute(statement)

    async def official_by_key(self) -> dict[str, ConnectorTemplate]:
        await self._admit()
        statement = select(ConnectorTemplate).where(ConnectorTemplate.is_official)
        return {row.key: row for row in await self.session.scalars(statement)}

    async def add_version(self, version: TemplateVersion) -> None:
        await self._admit()
        self.session.add(version)
        await self.session.flush()

    async def versions(self, template_id: uuid.UUID) -> list[TemplateVersion]:
        """Every published version of a template, newest first (the caller checked that this
        workspace sees the template; RLS admits versions of the templates it sees)."""
        await self._admit()
        statement = (
            select(TemplateVersion)
            .where(TemplateVersion.template_id == template_id)
            .order_by(TemplateVersion.version.desc())
        )
        return list(await self.session.scalars(statement))

    async def version(self, template_id: uuid.UUID, number: int) -> TemplateVersion | None:
        await self._admit()
        statement = select(TemplateVersion).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == number
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def recently_published(
        self, *, official: bool | None, limit: int = 100
    ) -> list[ConnectorTemplate]:
        """For the platform panel: newest first (never-published drafts last)."""
        await self._admit()
        statement = self.select().order_by(
            ConnectorTemplate.published_at.desc().nulls_last(), ConnectorTemplate.name
        )
        if official is not None:
            statement = statement.where(ConnectorTemplate.is_official.is_(official))
        if official is False:
            statement = statement.where(ConnectorTemplate.version > 0)
        return list(await self.session.scalars(statement.limit(limit)))

    async def categories(self) -> list[str]:
        await self._admit()
        statement = (
            self.select(ConnectorTemplate.category)
            .where(ConnectorTemplate.status == TemplateStatus.published.value)
            .distinct()
            .order_by(ConnectorTemplate.category)
        )
        return list(await self.session.scalars(statement))
