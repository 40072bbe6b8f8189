"""Argon2id password hashing (pwdlib), off the event loop on a bounded set of threads.

Every password is hashed and checked in its NFKC form (`normalize_password`), here, so that no
use case can forget it. Hashes made before passwords were normalized are of the password exactly
as typed: when the normalized form does not match, the form as typed is tried too (only if NFKC
changes it). A login tells such a legacy hash by checking the normalized form alone, and rehashes
it (application/use_cases/auth/log_in.py).

Each hash takes `memory_kib` (19 MiB by default) from malloc and frees it at once. glibc hands the
first such block back to the system, but then raises its mmap threshold to that size, so later
hashes take their blocks from the threads' malloc arenas, which keep them: two hashes at a time
left ~40 MiB resident for good after the first logins. A fixed threshold (set by
`keep_large_blocks_out_of_arenas`) makes every block of 1 MiB or more a mapping of its own,
returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

import anyio
from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.domain.value_objects.password import normalize_password

logger = logging.getLogger("strata.password_hasher")
# glibc's mallopt parameter, and the size from which a block is a mapping of its own.
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 1024 * 1024
_threshold_lock = threading.Lock()
_threshold_fixed = False


def keep_large_blocks_out_of_arenas() -> bool:
    """Fix glibc's mmap threshold at LARGE_BLOCK_BYTES (once per process): a block that large is
    then returned to the system when freed. False where the C library is not glibc (nothing to
    do: musl maps large blocks on its own)."""
    global _threshold_fixed  # noqa: PLW0603  (one process-wide setting, made once)
    with _threshold_lock:
        if not _threshold_fixed:
            _threshold_fixed = _set_mmap_threshold(LARGE_BLOCK_BYTES)
        return _threshold_fixed


def _set_mmap_threshold(size: int) -> bool:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, size) != 1:
        logger.warning("could not fix malloc's mmap threshold: hashes may stay resident")
        return False
    return True


class Argon2PasswordHasher:
    def __init__(self, *, memory_kib: int, iterations: int, concurrency: int) -> None:
        keep_large_blocks_out_of_arenas()
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
