"""Every background job by name, registered by the domain that owns it.

Each domain's `tasks.py` decorates its jobs: `@job` for work queued by name with keyword
arguments (ids and flags, never secrets), `@periodic` for work the workers start on a cron,
`@at_startup` for what the embedded default's only worker does when it starts (requeue what a
killed process left), `@at_every_start` for what every process that runs jobs does when it
starts (`serve`, and each `connectorhub worker` on PostgreSQL): work that is safe beside other
live processes, such as removing what a killed process of this host left on disk. `connectorhub.tasks` imports every domain's `tasks.py`, so importing it
fills this registry; nothing here knows any domain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Periodic:
    name: str
    function: JobFunction
    cron: str
    # The embedded default (no Procrastinate) runs it too, every scheduler interval.
    embedded: bool


JOBS: dict[str, JobFunction] = {}
PERIODIC: dict[str, Periodic] = {}
AT_STARTUP: dict[str, JobFunction] = {}
AT_EVERY_START: dict[str, JobFunction] = {}


def _register(table: dict[str, Any], name: str, value: Any) -> None:
    if name in table and table[name] is not value:
        raise ValueError(f"two background jobs are named {name!r}")
    table[name] = value


def job(function: JobFunction) -> JobFunction:
    """Register `function(ctx, **kwargs)` as the job named after it."""
    _register(JOBS, function.__name__, function)
    return function


def periodic(*, cron: str = "* * * * *", embedded: bool = False):
    """Register `function(ctx)` to run on `cron` on the workers (PostgreSQL); with `embedded`,
    also every scheduler interval inside the embedded default's `serve`."""

    def register(function: JobFunction) -> JobFunction:
        name = function.__name__
        _register(PERIODIC, name, Periodic(name, function, cron, embedded))
        return function

    return register


def at_startup(function: JobFunction) -> JobFunction:
    """Register `function(ctx)` to run once when the embedded default's worker starts."""
    _register(AT_STARTUP, function.__name__, function)
    return function


def at_every_start(function: JobFunction) -> JobFunction:
    """Register `function(ctx)` to run once when any process that runs jobs starts: the
    embedded default's `serve` (before its `@at_startup` work), each `connectorhub worker`, and
    `serve` on PostgreSQL (which runs connection tests itself). Other processes may be live."""
    _register(AT_EVERY_START, function.__name__, function)
    return function
