"""Wake-ups when a run ends, for a caller waiting on another process (PostgreSQL only).

A trigger (migration 0021) sends `<table>:<id>` on `connectorhub_run_finished` when a run's
row reaches an end, at the commit that stores it. One LISTEN connection per process, opened on
the first wait, hands each notification to whoever watches that run; a waiter then reads the row
once. Without it, a `?wait=true` request read its execution every 50 ms in a transaction of its
own — about eight transactions per execution on PostgreSQL, most of them finding nothing new.

Notifications can be missed (before the listener is up, while it reconnects): a waiter still
reads the row again every `FALLBACK_SECONDS`, so a missed one costs latency, never a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "connectorhub_run_finished"
APPLICATION_NAME = "connectorhub run signals"  # what pg_stat_activity shows for the listener
FALLBACK_SECONDS = 1.0  # a waiter reads again this often even without a notification
RECONNECT_SECONDS = 1.0
# A connection that died without a word (a NAT, a failover) is found by TCP keepalives and
# replaced, instead of leaving every waiter on its fallback reads for good.
CONNECTION = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
              "keepalives_interval": 10, "keepalives_count": 3}  # fmt: skip


class RunSignals:
    def __init__(self, conninfo: str):
        self._conninfo = conninfo
        # Weak: a watcher whose waiter never came to wait (its request failed before the answer
        # went out) goes away with it.
        self._watchers: dict[str, weakref.WeakSet[asyncio.Event]] = {}
        self._made = 0
        self._listening: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def watcher(self, table: str, run_id: object) -> asyncio.Event:
        """An event set when that run ends (or when notifications may have been missed), kept
        while the caller holds it. Watch before reading the row (or before committing the
        transaction that queues the run): an end between the read and the wait is not lost."""
        self._made += 1
        if self._made % 1000 == 0:  # keys left by dropped watchers only: a sweep now and then
            self._prune()
        event = asyncio.Event()
        self._watchers.setdefault(f"{table}:{run_id}", weakref.WeakSet()).add(event)
        return event

    def forget(self, table: str, run_id: object, event: asyncio.Event) -> None:
        key = f"{table}:{run_id}"
        watchers = self._watchers.get(key)
        if watchers is not None:
            watchers.discard(event)
            if not watchers:
                del self._watchers[key]

    def _prune(self) -> None:
        for key in [key for key, watchers in self._watchers.items() if not watchers]:
            del self._watchers[key]

    async def ready(self, wait: float = 0) -> None:
        """Start listening if not yet. A waiter need not wait for it: once the listener is in
        place every watcher is woken to read once, so what ended before is not missed. `wait`:
        seconds to give it to be in place (for tests that want the signal, not that read)."""
        if self._task is None or self._task.done():
            # Made here, on the loop that will use them (a Hub may be started on another).
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._listen(self._listening), name="run-signals")
        if wait and self._listening is not None and not self._listening.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), wait)

    async def _listen(self, listening: asyncio.Event) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name=APPLICATION_NAME,
                    **CONNECTION,
                ) as connection:  # fmt: skip
                    await connection.execute(f"LISTEN {CHANNEL}")
                    listening.set()
                    # Whatever ended while nobody listened: let every waiter read once more.
                    self._wake_all()
                    async for notification in connection.notifies():
                        for event in self._watchers.get(notification.payload, ()):
                            event.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database went away: waiters fall back to reading
                log.warning("run signals lost their connection (%s); reconnecting", error)
            listening.clear()
            self._wake_all()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._listening = None
