"""Syncing into a Singer target (a `kind: target` connector, installed in its own virtualenv like
a tap): the tap's stdout is piped into the target's stdin, and the state is saved only from what
the target prints on its stdout, which by the Singer contract it does once the rows before that
state are persisted. A sync killed at any moment resumes from the last state the target
reported: rows after it come again (an upserting target such as target-postgres keeps one of
each; an appending one such as target-jsonl writes them again, as it would under Meltano).

The hub reads the tap's lines only to count records per stream (from the line's start, without
parsing it whole), so the pipe costs little beside the target's own work. The target runs under
the same supervisor as the tap, in the tap's working directory (sync/tap.py, sync/workdirs.py):
both die with the hub, and both are stopped before a retry starts."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from connectorhub.sync.tap import TapProcess

_RECORD = re.compile(rb'^\s*\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"\\]*)"')
_PIPE_BYTES = 256 * 1024  # written to the target, then drained, at about this size


@dataclass
class Target:
    """A target connector ready to run: its plugin, its config file's content (settings and
    credentials) and the secret values to mask in its output."""

    connector_id: Any
    name: str
    plugin: dict[str, Any]
    config: dict[str, Any]
    secrets: list[str]


def state_of(line: bytes) -> dict[str, Any] | None:
    """The state on a line of a target's stdout: the bare state object the Singer spec has
    targets print (some print a STATE message instead). None for anything else."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
        value = value["value"]
    return value if isinstance(value, dict) else None


def _stream_of(line: bytes) -> str | None:
    """The stream of a RECORD line (None for other messages), read from the line's start when
    the tap writes `type` and `stream` first (SDK and singer-python taps do)."""
    found = _RECORD.match(line)
    if found is not None:
        return found.group(1).decode()
    if b'"RECORD"' not in line:
        return None
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(message, dict) and message.get("type") == "RECORD":
        stream = message.get("stream")
        return stream if isinstance(stream, str) else None
    return None


class TargetPipe:
    """One run's tap → target pipe. `rows` counts the records sent per stream; `on_state` is
    awaited with each state the target reports, in order, with the counts at that moment."""

    def __init__(self, on_state: Callable[[dict[str, Any], dict[str, int]], Awaitable[None]]):
        self.on_state = on_state
        self.rows: dict[str, int] = defaultdict(int)
        self.target_gone = False  # the target closed its stdin before the tap had finished
        self.states = 0

    async def run(self, tap: TapProcess, target: TapProcess) -> tuple[int, int]:
        """Pipe until the tap ends and the target has read everything and exited; returns
        (tap exit code, target exit code). Raises what `on_state` raises (both are killed)."""
        reporting = asyncio.create_task(self._report_states(target))
        pumping = asyncio.create_task(self._pump(tap, target))
        try:
            await asyncio.wait({reporting, pumping}, return_when=asyncio.FIRST_EXCEPTION)
            if reporting.done() and reporting.exception() is not None:
                raise reporting.exception()  # type: ignore[misc]
            await pumping
            tap_code = await tap.wait()
            if self.target_gone:
                tap.kill()
            target_code = await target.wait()
            await reporting  # every state the target printed before it exited is saved
            return tap_code, target_code
        except BaseException:
            tap.kill()
            target.kill()
            for task in (reporting, pumping):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(reporting, pumping, return_exceptions=True)
            raise

    async def _pump(self, tap: TapProcess, target: TapProcess) -> None:
        stdin = target.process.stdin
        assert stdin is not None
        rows, pending, size = self.rows, [], 0
        try:
            async for line in tap.lines():
                stream = _stream_of(line)
                if stream is not None:
                    rows[stream] += 1
                pending.append(line)
                size += len(line) + 1
                if size >= _PIPE_BYTES:
                    pending.append(b"")
                    stdin.write(b"\n".join(pending))
                    pending, size = [], 0
                    await stdin.drain()
            if pending:
                pending.append(b"")
                stdin.write(b"\n".join(pending))
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self.target_gone = True  # its exit code and stderr say why
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                stdin.close()
                await stdin.wait_closed()

    async def _report_states(self, target: TapProcess) -> None:
        # One at a time, in order, each as it comes (a save takes milliseconds; the target
        # blocks on its stdout only past a pipe's worth of unread states).
        async for line in target.lines():
            state = state_of(line)
            if state is not None:
                self.states += 1
                await self.on_state(state, dict(self.rows))
