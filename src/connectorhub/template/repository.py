"""All SQL about templates, and the one place their visibility rules live."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.kit.repository import Page, escape_like
from connectorhub.template.models import ConnectorTemplate, TemplateStatus, Visibility


class TemplateRepository:
    """Templates as one workspace sees them: published official and public community ones, and
    everything it owns. A platform admin sees all of them (to moderate)."""

    def __init__(
        self, session: AsyncSession, tenant_id: str | None, *, platform_admin: bool = False
    ):
        self.session = session
        self.tenant_id = tenant_id
        self.platform_admin = platform_admin

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
        return or_(published & public, own)

    def select(self, *columns) -> Select:
        statement = select(*columns) if columns else select(ConnectorTemplate)
        statement = statement.select_from(ConnectorTemplate)
        visible = self._visible()
        return statement if visible is None else statement.where(visible)

    async def get(self, id_or_key: str, *, for_update: bool = False) -> ConnectorTemplate | None:
        try:
            match = ConnectorTemplate.id == uuid.UUID(id_or_key)
        except ValueError:
            match = ConnectorTemplate.key == id_or_key
        statement = self.select().where(match)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def key_taken(self, key: str) -> bool:
        # Keys are unique across the marketplace, seen or not.
        statement = select(func.count()).where(ConnectorTemplate.key == key)
        return bool(await self.session.scalar(statement))

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
        statement = (
            update(ConnectorTemplate)
            .where(ConnectorTemplate.id == template_id)
            .values(install_count=ConnectorTemplate.install_count + 1)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def official_by_key(self) -> dict[str, ConnectorTemplate]:
        statement = select(ConnectorTemplate).where(ConnectorTemplate.is_official)
        return {row.key: row for row in await self.session.scalars(statement)}
