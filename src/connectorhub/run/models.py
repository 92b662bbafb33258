"""The columns and states every run row shares (executions, sync runs)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectorhub.kit.models import utcnow


class RunStatus(StrEnum):
    """Where one run is: queued → running → one end."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (self.succeeded, self.failed, self.cancelled)


ACTIVE = (RunStatus.queued.value, RunStatus.running.value)


class RunMixin:
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.queued.value)
    trigger: Mapped[str] = mapped_column(String(16), default="api")
    # Who runs it now (a queue job or a process, see worker/claimants.py): only that claimant
    # may pick a running run up again, so a duplicated job never runs it twice at once.
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    # How many times a worker has started it (a stalled run is picked up again).
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[float | None] = mapped_column()


def end_run(row: Any, status: RunStatus, error: str | None = None) -> datetime:
    """Stamp a run row's end (status, error, finished_at, duration_ms); returns the end time."""
    finished = utcnow()
    row.status, row.error, row.finished_at = status.value, error, finished
    if row.started_at is not None:
        row.duration_ms = round((finished - row.started_at).total_seconds() * 1000, 2)
    return finished
