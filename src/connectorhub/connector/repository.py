from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import contains_eager, joinedload

from connectorhub.catalog.models import CatalogEntry
from connectorhub.connector.models import Connector
from connectorhub.kit.repository import Page, SealedColumnRepository, escape_like


class ConnectorRepository(SealedColumnRepository[Connector]):
    model = Connector
    sealed_column = "auth"

    def _with_catalog(self):
        return self.select().options(joinedload(Connector.catalog))

    def _with_catalog_summary(self):
        # List pages show only these catalog fields (auth_fields: which are secret); its
        # schemas stay unloaded.
        summary = joinedload(Connector.catalog).load_only(
            CatalogEntry.key, CatalogEntry.name, CatalogEntry.kind, CatalogEntry.category,
            CatalogEntry.icon, CatalogEntry.auth_type, CatalogEntry.oauth, CatalogEntry.auth_fields,
        )  # fmt: skip
        return self.select().options(summary)

    async def get_with_catalog(
        self, connector_id: uuid.UUID, *, for_update: bool = False
    ) -> Connector | None:
        statement = self._with_catalog().where(Connector.id == connector_id)
        if for_update:
            statement = statement.with_for_update(of=Connector)
        result = await self.session.execute(statement)
        return result.scalar_one_or_none()

    async def get_with_catalog_by_name(self, name: str) -> Connector | None:
        result = await self.session.execute(self._with_catalog().where(Connector.name == name))
        return result.scalar_one_or_none()

    async def default_destination(self) -> Connector | None:
        """The target connector picked as the workspace's default destination, if any."""
        result = await self.session.execute(
            self._with_catalog().where(Connector.default_destination.is_(True))
        )
        return result.scalar_one_or_none()

    async def clear_default_destination(self) -> None:
        await self.session.execute(
            self.update()
            .where(Connector.default_destination.is_(True))
            .values(default_destination=False)
        )

    async def destination_uses(self, target_id: uuid.UUID) -> tuple[bool, list[str]]:
        """Whether a target connector is the workspace's default destination, and the names of
        the sources that picked it as their own, read from the rows as they are now."""
        is_default = await self.session.scalar(
            self.select(Connector.default_destination).where(Connector.id == target_id)
        )
        sources = self.select(Connector.name).where(Connector.destination_id == target_id)
        names = (await self.session.scalars(sources.order_by(Connector.name))).all()
        return bool(is_default), list(names)

    async def by_name(self, name: str) -> Connector | None:
        result = await self.session.execute(self.select().where(Connector.name == name))
        return result.scalar_one_or_none()

    async def installed_from(self, template_id: uuid.UUID, below_version: int) -> list[str]:
        """Names of connectors installed from a template at a version older than `below_version`."""
        statement = self.select(Connector.name).where(
            Connector.template_id == template_id, Connector.template_version < below_version
        )
        return list((await self.session.scalars(statement)).all())

    async def from_template(self, template_id: uuid.UUID) -> list[Connector]:
        """This workspace's connectors installed from a template, by name."""
        statement = (
            self.select().where(Connector.template_id == template_id).order_by(Connector.name)
        )
        return list((await self.session.scalars(statement)).all())

    async def names_using_credential(self, credential: str) -> list[str]:
        """Connectors whose definition lists the workspace credential `credential`."""
        statement = self.select(Connector.name, Connector.definition).where(
            Connector.definition.is_not(None)
        )
        return [
            row.name
            for row in await self.session.execute(statement)
            if credential in ((row.definition or {}).get("credentials") or [])
        ]

    def _has_tag(self, tag: str):
        if self.session.get_bind().dialect.name == "postgresql":
            return type_coerce(Connector.tags, JSONB).contains([tag])
        each = func.json_each(Connector.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    async def search(
        self,
        *,
        status: str | None,
        catalog_key: str | None,
        tag: str | None,
        search: str | None,
        page: int,
        page_size: int,
    ) -> Page[Connector]:
        statement = self._with_catalog_summary().order_by(Connector.name)
        if status:
            statement = statement.where(Connector.status == status)
        if catalog_key:
            statement = statement.where(
                Connector.catalog_id.in_(
                    select(CatalogEntry.id).where(CatalogEntry.key == catalog_key)
                )
            )
        if tag:
            statement = statement.where(self._has_tag(tag))
        if search:
            pattern = f"%{escape_like(search)}%"
            statement = statement.where(or_(Connector.name.ilike(pattern, escape="\\")))
        return await self.paginate(statement, page, page_size)

    async def active_of_kind(self, kind: str) -> Sequence[Connector]:
        return await self.of_kind(kind, active_only=True)

    async def of_kind(self, kind: str, *, active_only: bool = False) -> Sequence[Connector]:
        """This workspace's connectors of one catalog kind, with their entries, by name."""
        statement = (
            self.select()
            .join(CatalogEntry, CatalogEntry.id == Connector.catalog_id)
            .options(contains_eager(Connector.catalog))
            .where(CatalogEntry.kind == kind)
            .order_by(Connector.name)
        )
        if active_only:
            statement = statement.where(Connector.status == "active")
        return (await self.session.scalars(statement)).unique().all()

    async def due_for_sync(self, now) -> Sequence[Connector]:
        """Active connectors whose sync schedule is due, locked; another worker looking at the
        same moment skips them rather than starting them twice."""
        statement = (
            self.select()
            .where(
                Connector.status == "active",
                Connector.schedule.is_not(None),
                Connector.next_sync_at <= now,
            )
            .order_by(Connector.next_sync_at)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()

    async def record_run(
        self, connector_id: uuid.UUID, *, succeeded: bool, duration_ms: float, finished_at
    ) -> None:
        """Count one finished execution in a single UPDATE, so concurrent runs never lose one.

        The right-hand sides read the row's values from before the update (both databases).
        """
        total = Connector.executions_total
        statement = (
            self.update()
            .where(Connector.id == connector_id)
            .values(
                executions_total=total + 1,
                executions_succeeded=Connector.executions_succeeded + (1 if succeeded else 0),
                executions_failed=Connector.executions_failed + (0 if succeeded else 1),
                last_run_at=finished_at,
                avg_duration_ms=(
                    func.coalesce(Connector.avg_duration_ms, 0.0) * total + duration_ms
                )
                / (total + 1),
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)
