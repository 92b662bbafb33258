"""SQL every run table shares: the row lock for claiming, fenced progress writes, the look-ups
recovery needs, and the aggregates the charts draw."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Date, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from connectorhub.db import UnitOfWork, defer_after_commit, is_postgres
from connectorhub.kit.models import TenantOwned
from connectorhub.kit.repository import SealedColumnRepository, TenantRepository
from connectorhub.run.models import ACTIVE, RunStatus

log = logging.getLogger(__name__)
R = TypeVar("R", bound=TenantOwned)


def json_merged(session: AsyncSession, column: Any, keys: dict[str, Any]) -> ColumnElement:
    """`column` (a JSON object) with `keys` set, as SQL: jsonb `||` on PostgreSQL, SQLite's
    json_patch (the values are never null, so a patch only sets)."""
    if is_postgres(session):
        return column.op("||")(literal(keys, JSONB))
    return func.json_patch(column, json.dumps(keys))


class RunRepository(TenantRepository[R]):
    async def get_for_update(self, run_id: uuid.UUID) -> R | None:
        statement = self.select().where(self.model.id == run_id).with_for_update()  # type: ignore[attr-defined]
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def save_progress(
        self, run_id: uuid.UUID, claimant: str, merge: dict[str, dict[str, Any]] | None = None,
        **values: Any,
    ) -> bool | None:  # fmt: skip
        """Store progress while `claimant` holds the running run; returns whether a cancel was
        asked (None: the run is no longer this claimant's, or no longer running). `merge` names
        JSON object columns whose given keys are set in the stored value (the rest kept), in the
        same statement."""
        model: Any = self.model
        for name, keys in (merge or {}).items():
            values[name] = json_merged(self.session, getattr(model, name), keys)
        statement = (
            self.update()
            # A late writer never overwrites a finished run, nor one whose claim moved on.
            .where(
                model.id == run_id,
                model.status == RunStatus.running.value,
                model.claimed_by == claimant,
            )
            .values(**values)
            .returning(model.cancel_requested)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def should_stop(self, run_id: uuid.UUID, claimant: str) -> bool:
        """Whether the running run's claimant should stop: a cancel was asked, or the claim
        moved on to another attempt (or the run is gone)."""
        model: Any = self.model
        statement = self.select(model.cancel_requested, model.claimed_by).where(model.id == run_id)
        row = (await self.session.execute(statement)).one_or_none()
        return row is None or row.cancel_requested or row.claimed_by != claimant

    async def queued_before(self, cutoff: datetime) -> list[uuid.UUID]:
        model: Any = self.model
        statement = self.select(model.id).where(
            model.status == RunStatus.queued.value, model.created_at < cutoff
        )
        return list((await self.session.scalars(statement)).all())

    async def per_day(
        self, since: datetime, *, connector_id: uuid.UUID | None = None
    ) -> list[tuple[str, str, int]]:
        """(day as `YYYY-MM-DD`, status, how many runs) of the runs created since `since`, by
        day (UTC) and status, oldest day first."""
        model: Any = self.model
        # The UTC day whatever the session's time zone: a date on PostgreSQL (timestamptz read
        # at UTC), an ISO string on SQLite (where the time is stored as UTC text).
        day = (
            func.date(model.created_at)
            if self._sqlite
            else cast(func.timezone("UTC", model.created_at), Date)
        )
        statement = (
            self.select(day.label("day"), model.status, func.count().label("runs"))
            .where(model.created_at >= since)
            .group_by(day, model.status)
            .order_by(day)
        )
        if connector_id is not None:
            statement = statement.where(model.connector_id == connector_id)
        rows = await self.session.execute(statement)
        return [(str(row.day)[:10], row.status, int(row.runs)) for row in rows]

    async def latest_per_connector(
        self, connector_ids: Sequence[uuid.UUID], limit: int, *extra: Any
    ) -> list[Any]:
        """The `limit` newest runs of each of `connector_ids` (one statement: a window over the
        connector), oldest first, as rows of connector_id, created_at, status, duration_ms and
        the `extra` columns."""
        if not connector_ids:
            return []
        model: Any = self.model
        newest = func.row_number().over(
            partition_by=model.connector_id, order_by=(model.created_at.desc(), model.id)
        )
        ranked = (
            self.select(
                model.connector_id, model.created_at, model.status, model.duration_ms, *extra,
                newest.label("newest"),
            )
            .where(model.connector_id.in_(connector_ids))
            .subquery()
        )  # fmt: skip
        statement = (
            select(ranked)
            .where(ranked.c.newest <= limit)
            .order_by(ranked.c.connector_id, ranked.c.created_at)
        )
        return list((await self.session.execute(statement)).all())

    @property
    def _sqlite(self) -> bool:
        return not is_postgres(self.session)


class SealedRunRepository(RunRepository[R], SealedColumnRepository[R]):
    """A run table that also keeps sealed fields (executions' secret inputs)."""


async def unfinished_runs(session: AsyncSession, model: Any) -> Sequence[tuple[str, uuid.UUID]]:
    """(workspace, id) of every queued or running row of `model`, in all workspaces.

    Only for the embedded default's start-up recovery: on SQLite there is no row-level
    security, and this process is the only worker, so whatever it finds was orphaned by its
    previous run.
    """
    statement = select(model.tenant_id, model.id).where(model.status.in_(ACTIVE))
    return [(row.tenant_id, row.id) for row in await session.execute(statement)]


async def requeue_unfinished(
    work: UnitOfWork, model: Any, job_for: Callable[[str, uuid.UUID], Any]
) -> int:
    """Embedded default, at start: queue `job_for(workspace, id)` (a take-over) for every run of
    `model` a killed process left queued or running; each still ends exactly once."""
    async with work.transaction() as session:
        orphans = await unfinished_runs(session, model)
        for tenant_id, run_id in orphans:
            defer_after_commit(session, job_for(tenant_id, run_id))
    if orphans:
        log.info("requeued %d unfinished %s", len(orphans), model.__tablename__)
    return len(orphans)
