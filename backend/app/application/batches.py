"""Large deletions in short transactions, so the requests writing meanwhile are not held up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


async def in_batches(run_batch: Callable[[], Awaitable[int]], batch_size: int) -> int:
    """Run `run_batch` (one transaction of at most `batch_size` rows, returning how many it
    touched) until a batch comes back short; the total."""
    total = 0
    while True:
        touched = await run_batch()
        total += touched
        if touched < batch_size:
            return total
