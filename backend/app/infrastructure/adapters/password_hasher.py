"""Argon2id password hashing (pwdlib), off the event loop on a bounded set of threads.

Every password is hashed and checked in its NFKC form (`normalize_password`), here, so that no
use case can forget it. Hashes made before passwords were normalized are of the password exactly
as typed: when the normalized form does not match, the form as typed is tried too (only if NFKC
changes it). A login tells such a legacy hash by checking the normalized form alone, and rehashes
it (application/use_cases/auth/log_in.py).

Each hash takes `memory_kib` (19 MiB by default) from malloc and frees it. After the first hashes
glibc keeps such blocks in its arenas and reuses them, so about `concurrency` x 19 MiB stay
resident. A fixed mmap threshold (mallopt) would hand them back after every hash, but then every
hash maps and faults in 19 MiB afresh: 30-40 % fewer hashes per second measured on the bench
machine, for no lower peak (the blocks are in use while the hashes run). So it is left alone.
"""

from __future__ import annotations

import anyio
from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.domain.value_objects.password import normalize_password


class Argon2PasswordHasher:
    def __init__(self, *, memory_kib: int, iterations: int, concurrency: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_kib, time_cost=iterations, parallelism=1),)
        )
        # Argon2 releases the GIL; capping the hashes in flight keeps cores for everything else.
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        normalized = normalize_password(password)
        return await to_thread.run_sync(self._hash.hash, normalized, limiter=self._limiter)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await to_thread.run_sync(
            self._verify, password, password_hash, limiter=self._limiter
        )

    async def burn_time(self, password: str) -> None:
        # The same checks as a real verification of this password (two when NFKC changes it),
        # so an unknown account takes as long as a wrong password.
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash("decoy password, never matches anything")
        await self.verify(password, self._decoy_hash)

    def _verify(self, password: str, password_hash: str) -> bool:
        normalized = normalize_password(password)
        if self._verify_one(normalized, password_hash):
            return True
        # A hash made before normalization, of the password as typed.
        return normalized != password and self._verify_one(password, password_hash)

    def _verify_one(self, password: str, password_hash: str) -> bool:
        try:
            return self._hash.verify(password, password_hash)
        except Exception:
            return False
