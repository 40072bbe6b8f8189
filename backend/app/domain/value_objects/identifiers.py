"""Identifiers: UUIDv7 (RFC 9562), so ids sort by creation time and index well."""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID

_RAND_BITS = 74  # rand_a (12) + rand_b (62), used as one counter within a millisecond
_lock = threading.Lock()
_last_ms = -1
_last_counter = 0


def new_id() -> UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then 74 bits seeded at random each millisecond and
    incremented within it (RFC 9562 §6.2, method 2), so the ids one process makes strictly
    increase: events of the same millisecond keep their order in keyset pages."""
    global _last_ms, _last_counter
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        if unix_ms != _last_ms:
            # The top bit stays clear: increments within a millisecond cannot overflow.
            counter = int.from_bytes(os.urandom(10), "big") >> (80 - _RAND_BITS + 1)
        else:  # a random increment keeps the next id of this millisecond unguessable
            counter = _last_counter + 1 + (int.from_bytes(os.urandom(4), "big") >> 8)
        _last_ms, _last_counter = unix_ms, counter
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (counter >> 62) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= counter & ((1 << 62) - 1)  # rand_b: 62 bits
    return UUID(int=value)
