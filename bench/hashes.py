"""Bare Argon2id: how many password verifications per second this machine does with N at once, at
the application's own cost, with nothing else around them (no HTTP, no database, no event loop).
The login rows are compared with it: a login is one verification plus the application's work.

The hash is made by the application's own adapter (`Argon2PasswordHasher`, built with the defaults
of `Settings`: memory, passes; its parallelism is the adapter's), and verified with argon2-cffi's
`PasswordHasher.verify`, which reads the cost from the hash itself: the same cost by construction.

Run in a process of its own (`python -m bench.hashes <threads> <seconds>`, one JSON line on
stdout), so that the bench's own threads and GIL do not share it. Argon2 releases the GIL, so the
N threads verify at once, as N logins in flight would if nothing capped them.
"""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import anyio
from argon2 import PasswordHasher, extract_parameters

from app.core.config import Settings
from app.infrastructure.adapters.password_hasher import Argon2PasswordHasher
from bench.config import ROOT, BenchError, log

# Beyond its own duration, how long the helper may take (start-up, the last verifications).
_GRACE_S = 60


@dataclass(frozen=True, slots=True)
class BareHashes:
    """N threads verifying one password against its Argon2id hash in a loop for a while."""

    threads: int
    verifications: int
    duration_s: float
    p50_ms: float  # of one verification, with the other threads running
    p99_ms: float
    memory_kib: int  # the cost read back from the hash
    iterations: int
    parallelism: int

    @property
    def rate(self) -> float:
        return self.verifications / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "verifications_per_s": round(self.rate, 2),
            "verifications": self.verifications,
            "duration_s": round(self.duration_s, 3),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "parallelism": self.parallelism,
        }


def measure_bare_hashes(threads: int, duration_s: int) -> BareHashes:
    """Runs the helper process and reads its one line."""
    log(f"  bare Argon2id: {threads} verifications at once for {duration_s} s (own process)")
    command = [sys.executable, "-m", "bench.hashes", str(threads), str(duration_s)]
    done = subprocess.run(
        command,
        cwd=ROOT,  # `-m bench.hashes` imports from here
        capture_output=True,
        text=True,
        timeout=duration_s + _GRACE_S,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"bench.hashes failed (exit {done.returncode}): {done.stderr[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    result = BareHashes(**raw)
    log(f"    {result.rate:,.1f} verifications/s, p50 {result.p50_ms:.0f} ms")
    return result


def _run(threads: int, duration_s: float) -> dict[str, Any]:
    def default(name: str) -> Any:
        return Settings.model_fields[name].default

    adapter = Argon2PasswordHasher(
        memory_kib=default("password_hash_memory_kib"),
        iterations=default("password_hash_iterations"),
        concurrency=default("password_hash_concurrency"),
    )
    password = "bench " + secrets.token_urlsafe(24)
    password_hash = anyio.run(adapter.hash, password)
    parameters = extract_parameters(password_hash)
    verifier = PasswordHasher()  # verify() takes the cost from the hash
    if not verifier.verify(password_hash, password):
        raise SystemExit("the hash does not verify")

    start = threading.Barrier(threads + 1)
    counts = [0] * threads
    times: list[list[float]] = [[] for _ in range(threads)]
    finished = [0.0] * threads
    deadline = 0.0

    def work(index: int) -> None:
        start.wait()
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            verifier.verify(password_hash, password)
            ended = time.perf_counter()
            counts[index] += 1
            times[index].append(ended - began)
            finished[index] = ended

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline = began + duration_s
    start.wait()
    for worker in workers:
        worker.join()
    # Verifications started before the deadline all count, so the time is up to the last one's end.
    elapsed = max(finished) - began if any(counts) else duration_s
    latencies = sorted(t for per_thread in times for t in per_thread)
    return {
        "threads": threads,
        "verifications": sum(counts),
        "duration_s": elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "memory_kib": parameters.memory_cost,
        "iterations": parameters.time_cost,
        "parallelism": parameters.parallelism,
    }


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(share * len(values)))
    return values[min(rank, len(values)) - 1]


if __name__ == "__main__":
    print(json.dumps(_run(int(sys.argv[1]), float(sys.argv[2]))))
