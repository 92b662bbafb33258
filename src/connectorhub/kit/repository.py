"""The tenancy choke point: repositories that scope every statement to one workspace.

A `WorkspaceScope` (db.py) is the only way to reach tenant data. Opening one binds the workspace
to the transaction (PostgreSQL RLS reads it), and `TenantRepository` adds `tenant_id = :workspace` to
every SELECT, UPDATE and DELETE it builds and stamps it on every row it adds. Nobody else writes a
tenant filter by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Delete, Select, Text, Update, cast, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from connectorhub.db import WorkspaceScope
from connectorhub.kit.models import TenantOwned

M = TypeVar("M", bound=TenantOwned)


def escape_like(text: str) -> str:
    """Match `text` literally in LIKE (with `escape="\\"`): %, _ and \\ are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Page(Generic[M]):
    items: Sequence[M]
    total: int
    page: int
    page_size: int


class TenantRepository(Generic[M]):
    model: ClassVar[type[TenantOwned]]

    def __init__(self, scope: WorkspaceScope):
        self.scope = scope
        self.session = scope.session

    def _scoped(self, statement: Any) -> Any:
        return statement.where(self.model.tenant_id == self.scope.tenant_id)

    def select(self, *columns: Any) -> Select[Any]:
        """`SELECT … FROM <model> WHERE tenant_id = :workspace` (columns default to the model)."""
        statement = select(*columns) if columns else select(self.model)
        return self._scoped(statement.select_from(self.model))

    def update(self) -> Update:
        """`UPDATE <model> … WHERE tenant_id = :workspace`."""
        return self._scoped(update(self.model))

    def delete(self) -> Delete:
        """`DELETE FROM <model> WHERE tenant_id = :workspace …`."""
        return self._scoped(delete(self.model))

    async def get(self, object_id: uuid.UUID) -> M | None:
        result = await self.session.execute(self.select().where(self.model.id == object_id))  # type: ignore[attr-defined]
        return result.scalar_one_or_none()

    def newest_first(
        self, *, since: datetime | None = None, until: datetime | None = None, **equal: Any
    ) -> Select[Any]:
        """The rows newest first, filtered by the given columns (None: no filter) and by
        creation time (`since` inclusive, `until` exclusive): what every history list shows."""
        model: Any = self.model
        statement = self.select().order_by(model.created_at.desc(), model.id)
        for column, value in equal.items():
            if value is not None:
                statement = statement.where(getattr(model, column) == value)
        if since is not None:
            statement = statement.where(model.created_at >= since)
        if until is not None:
            statement = statement.where(model.created_at < until)
        return statement

    async def add_once(self, row: M, existing: Callable[[], Awaitable[M | None]]) -> tuple[M, bool]:
        """Add `row` unless a unique constraint says an equal one exists (a concurrent request
        with the same Idempotency-Key won the race): then that one, found by `existing`.
        Returns the row and whether it is new."""
        try:
            async with self.session.begin_nested():
                self.add(row)
                await self.session.flush()
        except IntegrityError:
            found = await existing()
            if found is None:
                raise
            return found, False
        return row, True

    def add(self, row: M) -> M:
        row.tenant_id = self.scope.tenant_id
        row.created_by = row.updated_by = self.scope.actor
        self.session.add(row)
        return row

    def touch(self, row: M) -> None:
        """Record who changed a row (updated_at is set by the column's onupdate)."""
        if row.tenant_id != self.scope.tenant_id:  # a row from elsewhere must never be written here
            raise PermissionError("row belongs to another workspace")
        row.updated_by = self.scope.actor

    async def remove(self, row: M) -> None:
        self.touch(row)
        await self.session.delete(row)

    async def paginate(self, statement: Select[Any], page: int, page_size: int) -> Page[M]:
        # The total rides along with the page (a window count) instead of costing a statement
        # of its own; only a page past the end, which has no row to carry it, counts apart.
        counted = statement.add_columns(func.count().over().label("page_total"))
        rows = (
            await self.session.execute(counted.limit(page_size).offset((page - 1) * page_size))
        ).all()
        if rows:
            total = rows[0][-1]
        elif page == 1:
            total = 0
        else:
            total = await self.session.scalar(
                select(func.count()).select_from(statement.order_by(None).subquery())
            )
        items = [row[0] for row in rows]
        return Page(items=items, total=total or 0, page=page, page_size=page_size)


class SealedColumnRepository(TenantRepository[M]):
    """A repository whose model keeps sealed fields in one JSON column (`sealed_column`): what
    key rotation needs to find and re-seal them."""

    sealed_column: ClassVar[str]

    async def count_sealed_with(self, key_id: str, excluding: Collection[uuid.UUID] = ()) -> int:
        """Rows holding any field sealed under `key_id` (ciphertexts start `v1.<key_id>.`),
        leaving out the rows whose ids are given."""
        pattern = f'%"v1.{escape_like(key_id)}.%'
        column = getattr(self.model, self.sealed_column)
        statement = self.select(func.count()).where(cast(column, Text).like(pattern, escape="\\"))
        if excluding:
            statement = statement.where(self.model.id.not_in(excluding))  # type: ignore[attr-defined]
        return await self.session.scalar(statement) or 0

    async def with_secrets(self, after: uuid.UUID | None, limit: int) -> Sequence[M]:
        """A batch of rows in id order, locked for re-sealing."""
        id_column = self.model.id  # type: ignore[attr-defined]
        statement = self.select().order_by(id_column).limit(limit).with_for_update()
        if after is not None:
            statement = statement.where(id_column > after)
        return (await self.session.scalars(statement)).all()
