"""Waiting for a committed state from outside the transaction that will write it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll_until(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, seconds: float,
    every: float = 0.05, wake: asyncio.Event | None = None, first: T | None = None,
) -> T:  # fmt: skip
    """`read()` again every `every` seconds — or as soon as `wake` is set — until `done` says
    so or `seconds` have passed; returns the last value read. `first`: a value just read
    elsewhere, in place of the first read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    value = first if first is not None else await read()
    while not done(value) and loop.time() < deadline:
        if wake is None:
            await asyncio.sleep(every)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(every, max(deadline - loop.time(), 0)))
            wake.clear()
        value = await read()
    return value
