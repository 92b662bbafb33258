"""Loading a tap's messages: rows buffered per stream and loaded batch by batch; a STATE saved
only after every row before it is committed to the destination, so a sync killed at any moment
resumes from the last saved state with nothing lost (rows after it are delivered again and
upserted, never duplicated).

A STATE is not saved the moment it comes: taps send one every few thousand rows, and committing
the buffers at each would cut batches short and wait for the destination each time. The latest
one is held and saved (after a commit of everything before it) once `SAVE_SECONDS` have passed
since the last save, when the tap has been quiet that long, or when its output ends — as Singer
targets flush by size or age. A
kill loses at most those seconds of progress (delivered again, upserted); a STATE that comes
while no row is buffered is saved at once (nothing to wait for).

ACTIVATE_VERSION (full-table reads that also report deletions): rows carrying a table version
(on the record, or from an ACTIVATE_VERSION before them) keep it in `_sdc_table_version`. Once the
tap has finished well, for each stream activated at version V whose rows in this run all carried
V or later, rows of older versions (deleted at the source) are removed. Taps send the message
first (Meltano SDK) or last (tap-salesforce): both work. A read cut short, or a stream with
unversioned rows in this run, removes nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from connectorhub.sync import service
from connectorhub.sync.destination import VERSION_COLUMN, with_version_column
from connectorhub.sync.singer import (
    ActivateVersion,
    Message,
    Record,
    Schema,
    SingerParser,
    State,
)
from connectorhub.sync.warehouse import destination_for
from connectorhub.worker.context import JobContext

ACTOR = "sync"
SAVE_SECONDS = 1.0  # the longest a STATE is held before it is saved (see above)


class Cancelled(Exception):
    """A cancel was asked, or another claimant holds the run now: stop loading."""


class Loader:
    """Loads one run's messages as `ctx.claimant`, saving state in short transactions of
    `ctx.work` (a run whose claim moved on stops loading)."""

    def __init__(self, ctx: JobContext, tenant_id: str, run_id: uuid.UUID,
                 connector_id: uuid.UUID, source: str):  # fmt: skip
        self.work, self.tenant_id, self.run_id = ctx.work, tenant_id, run_id
        self.connector_id, self.claimant, self.source = connector_id, ctx.claimant, source
        self.destination = destination_for(ctx.settings, tenant_id)
        self.schemas: dict[str, Schema] = {}
        self.buffers: dict[str, Any] = {}  # rows waiting per stream (the destination's new_batch)
        self.rows: dict[str, int] = defaultdict(int)
        self.versions: dict[str, int] = {}  # the version each stream was activated at
        self.lowest: dict[str, int] = {}  # the lowest version of a row loaded this run
        self.unversioned: set[str] = set()  # streams with a row of no version this run
        self.versioned: set[str] = set()  # streams whose table has the version column
        self.held: dict[str, Any] | None = None  # the latest STATE not saved yet
        self.saved_at = time.monotonic()

    async def consume(self, chunks: AsyncIterator[list[bytes]], parser: SingerParser) -> None:
        """Load the tap's output, `chunks` of lines as they were read (`TapProcess.chunks`).
        When the tap goes quiet for `SAVE_SECONDS` with rows or a STATE waiting, they are
        loaded and saved then (a slow tap's rows show while it runs)."""
        iterator = aiter(chunks)
        while (chunk := await self._next(iterator)) is not None:
            for line in chunk:
                await self._handle(parser.parse(line))
        await self._save_held()

    async def _next(self, iterator: AsyncIterator[list[bytes]]) -> list[bytes] | None:
        """The next chunk (None: the output ended), saving what waits if it is slow to come."""
        if self.held is None and not self.buffers:
            return await anext(iterator, None)
        coming = asyncio.ensure_future(anext(iterator, None))
        try:
            done, _ = await asyncio.wait({coming}, timeout=SAVE_SECONDS)
            if not done:
                await self._save_held()
            return await coming
        finally:
            coming.cancel()

    async def _handle(self, message: Message | None) -> None:
        if isinstance(message, Record):
            stream = message.stream
            version = message.version if message.version is not None else (
                self.versions.get(stream)
            )  # fmt: skip
            if version is not None and stream not in self.versioned:
                await self._flush(stream)
                await self._prepare(self.schemas[stream], versioned=True)
            if version is None:
                self.unversioned.add(stream)
            else:
                self.lowest[stream] = min(self.lowest.get(stream, version), version)
            if stream in self.versioned:
                message.record[VERSION_COLUMN] = version
            buffer = self.buffers.get(stream)
            if buffer is None:
                buffer = self.buffers[stream] = self.destination.new_batch(self.schemas[stream])
            buffer.append(message.record)
            if len(buffer) >= self.destination.batch_rows:
                await self._flush(stream)
        elif isinstance(message, Schema):
            await self._flush(message.stream)  # rows of the old schema first
            await self._prepare(message, versioned=message.stream in self.versioned)
        elif isinstance(message, State):
            self.held = message.value
            if not self.buffers or time.monotonic() - self.saved_at >= SAVE_SECONDS:
                await self._save_held()
        elif isinstance(message, ActivateVersion):
            self.versions[message.stream] = message.version

    async def _save_held(self) -> None:
        """Every buffered row loaded, then the held STATE (None: counts only) saved."""
        for stream in list(self.buffers):
            await self._flush(stream)
        held, self.held = self.held, None
        await self.save(held)

    async def _prepare(self, schema: Schema, *, versioned: bool = False) -> None:
        if versioned:
            schema = with_version_column(schema)
            self.versioned.add(schema.stream)
        self.schemas[schema.stream] = schema
        await self.destination.prepare(self.source, schema)

    async def remove_older_versions(self) -> list[str]:
        """Only once the tap has exited well: rows the activated full-table read did not bring,
        for streams whose rows in this run all carried that version or a later one."""
        notes = []
        for stream, version in self.versions.items():
            if stream not in self.schemas:
                continue  # activated, but not one row nor a schema: nothing to compare
            if stream in self.unversioned or self.lowest.get(stream, version) < version:
                notes.append(f"{stream}: rows without version {version} came; none removed")
                continue
            if stream not in self.versioned:
                await self._prepare(self.schemas[stream], versioned=True)
            removed = await self.destination.delete_older_versions(self.source, stream, version)
            notes.append(f"{stream}: removed {removed} row(s) deleted at the source")
        return notes

    async def _flush(self, stream: str) -> None:
        records = self.buffers.pop(stream, None)
        if records is not None and len(records):
            self.rows[stream] += await self.destination.load(
                self.source, self.schemas[stream], records
            )

    async def save(self, state: dict[str, Any] | None) -> None:
        """The counts so far and `state` (None: counts only) saved in a short transaction.
        Raises Cancelled."""
        await self.destination.settle()  # the rows before this state are committed first
        async with self.work.workspace(self.tenant_id, ACTOR) as scope:
            cancel = await service.save_state(
                scope, self.run_id, self.connector_id, self.claimant,
                state=state, rows=dict(self.rows),
            )  # fmt: skip
        self.saved_at = time.monotonic()
        if cancel is None or cancel:  # None: another claimant holds the run now; stop loading
            raise Cancelled

    async def close(self) -> None:
        await self.destination.close()
