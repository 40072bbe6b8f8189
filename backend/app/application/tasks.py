"""Stopping asyncio tasks for sure.

On Python 3.11, `asyncio.wait_for` can swallow a cancellation that arrives just as the awaited
operation completes (CPython gh-86296); SQLAlchemy's pool, our write gate and redis-py all wait
that way. A task whose cancellation was swallowed keeps running, and awaiting it after one
`cancel()` hangs a shutdown for ever. So cancel again until it ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_EVERY_SECONDS = 0.1


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and return once it has ended (its result or exception is dropped)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_EVERY_SECONDS)
    if not task.cancelled():
        task.exception()  # retrieved: an error on the way out is not logged as never retrieved
