"""Argon2id password hashing (pwdlib), off the event loop on a bounded set of threads."""

from __future__ import annotations

import anyio
from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class Argon2PasswordHasher:
    def __init__(self, *, memory_kib: int, iterations: int, concurrency: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_kib, time_cost=iterations, parallelism=1),)
        )
        # Argon2 releases the GIL; capping the hashes in flight keeps cores for everything else.
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self._hash.hash, password, limiter=self._limiter)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await to_thread.run_sync(
            self._verify, password, password_hash, limiter=self._limiter
        )

    async def burn_time(self, password: str) -> None:
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash("decoy password, never matches anything")
        await self.verify(password, self._decoy_hash)

    def _verify(self, password: str, password_hash: str) -> bool:
        try:
            return self._hash.verify(password, password_hash)
        except Exception:
            return False
