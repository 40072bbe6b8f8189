"""What the measurements produced: a row per wrk run, the server's memory, each database's share of
the report, and whether each met its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.config import BIG_PRODUCTS, CATALOG_CACHE_OFF, CATALOG_CACHE_TTL_S, DATABASE_NAMES
from bench.endpoints import MAX_RSS_MIB, Endpoint
from bench.hashes import BareHashes
from bench.wrk import WrkResult


@dataclass(frozen=True, slots=True)
class Check:
    target: str
    measured: str
    met: bool

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "measured": self.measured, "met": self.met}


@dataclass(frozen=True, slots=True)
class Row:
    endpoint: Endpoint
    result: WrkResult
    ceiling_rps: float
    checks: tuple[Check, ...]
    peak_rss_kib: int
    peak_threads: int
    connections: int

    @property
    def share(self) -> float:
        return self.result.rps / self.ceiling_rps if self.ceiling_rps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.label,
            "connections": self.connections,
            **self.result.to_json(),
            "share_of_ceiling": round(self.share, 4),
            "peak_rss_kib": self.peak_rss_kib,
            "peak_threads": self.peak_threads,
            "checks": [check.to_json() for check in self.checks],
        }


@dataclass(frozen=True, slots=True)
class Memory:
    idle_rss_kib: int  # after start-up, before any load
    peak_rss_kib: int  # highest VmRSS sampled while wrk ran
    hwm_kib: int  # VmHWM when the server stopped: the kernel's own peak
    peak_threads: int

    def to_json(self) -> dict[str, Any]:
        return {
            "idle_rss_kib": self.idle_rss_kib,
            "peak_rss_kib": self.peak_rss_kib,
            "hwm_kib": self.hwm_kib,
            "peak_threads": self.peak_threads,
        }


@dataclass(frozen=True, slots=True)
class CacheLookups:
    """The catalog cache's counters over one server's life, read from its /metrics."""

    hits: int
    misses: int

    @property
    def total(self) -> int:
        return self.hits + self.misses

    @property
    def hit_share(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "hit_share": round(self.hit_share, 4)}


@dataclass(slots=True)
class DatabaseReport:
    key: str
    rows: list[Row] = field(default_factory=list)  # at BENCH_CONNECTIONS
    low_rows: list[Row] = field(default_factory=list)  # the same again at BENCH_LOW_CONNECTIONS
    # Per number in flight: the logins, then /health/live measured beside them.
    under_login: list[Row] = field(default_factory=list)
    bare_hashes: list[BareHashes] = field(default_factory=list)  # what the logins compare with
    memory: Memory | None = None
    cache_lookups: CacheLookups | None = None
    # The catalog reads again with the cache off, with targets of their own.
    uncached: list[Row] = field(default_factory=list)
    uncached_low: list[Row] = field(default_factory=list)
    uncached_cache_lookups: CacheLookups | None = None
    big: Row | None = None
    big_memory: Memory | None = None
    big_cache_lookups: CacheLookups | None = None

    @property
    def name(self) -> str:
        return DATABASE_NAMES[self.key]

    def checks(self) -> list[tuple[str, Check]]:
        found = _row_checks(self.rows)
        found += _row_checks(self.low_rows, with_connections=True)
        found += _row_checks(self.under_login)
        if self.memory:
            found.append(("server memory", memory_check(self.memory)))
        found += _row_checks(self.uncached, "off")
        found += _row_checks(self.uncached_low, "off", with_connections=True)
        if self.big:
            found += [(self.big.endpoint.label, check) for check in self.big.checks]
        if self.big_memory:
            found.append(
                (f"server memory ({BIG_PRODUCTS:,} products)", memory_check(self.big_memory))
            )
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoints": [row.to_json() for row in self.rows],
            "endpoints_low_connections": [row.to_json() for row in self.low_rows],
            "login_under_load": [row.to_json() for row in self.under_login],
            "bare_argon2id": [bare.to_json() for bare in self.bare_hashes],
            "memory": self.memory.to_json() if self.memory else None,
            "product_cache_ttl_seconds": CATALOG_CACHE_TTL_S,
            "catalog_cache_lookups": _json_or_none(self.cache_lookups),
            "catalog_cache_off": {
                "product_cache_ttl_seconds": CATALOG_CACHE_OFF,
                "endpoints": [row.to_json() for row in self.uncached],
                "endpoints_low_connections": [row.to_json() for row in self.uncached_low],
                "catalog_cache_lookups": _json_or_none(self.uncached_cache_lookups),
            },
            "recommendations_100k": _json_or_none(self.big),
            "memory_100k": _json_or_none(self.big_memory),
            "catalog_cache_lookups_100k": _json_or_none(self.big_cache_lookups),
        }


def _row_checks(
    rows: list[Row], cache: str | None = None, *, with_connections: bool = False
) -> list[tuple[str, Check]]:
    """Each check of each row, named by its endpoint, with the cache setting and the number of
    connections where the summary needs them to tell rows apart."""
    found = []
    for row in rows:
        notes = [f"cache {cache}"] if cache else []
        if with_connections:
            notes.append(f"{row.connections} connections")
        title = f"{row.endpoint.label} ({', '.join(notes)})" if notes else row.endpoint.label
        found += [(title, check) for check in row.checks]
    return found


def _json_or_none(record: Row | Memory | CacheLookups | None) -> dict[str, Any] | None:
    return record.to_json() if record is not None else None


def endpoint_checks(
    endpoint: Endpoint,
    result: WrkResult,
    ceiling_rps: float,
    bare_hashes: BareHashes | None = None,
) -> tuple[Check, ...]:
    checks = []
    if endpoint.min_share is not None:
        share = result.rps / ceiling_rps if ceiling_rps else 0.0
        checks.append(
            Check(
                f"≥ {endpoint.min_share:.0%} of ceiling",
                f"{share:.1%}",
                share >= endpoint.min_share,
            )
        )
    if endpoint.min_share_of_bare_hashes is not None:
        bare_rate = bare_hashes.rate if bare_hashes else 0.0
        share = result.rps / bare_rate if bare_rate else 0.0
        threads = bare_hashes.threads if bare_hashes else "?"
        checks.append(
            Check(
                f"≥ {endpoint.min_share_of_bare_hashes:.0%} of bare Argon2id ({threads} at once)",
                f"{share:.1%} ({result.rps:.1f} of {bare_rate:.1f}/s)",
                share >= endpoint.min_share_of_bare_hashes,
            )
        )
    if endpoint.no_timeouts:
        checks.append(Check("no timeouts", f"{result.timeouts} timeouts", result.timeouts == 0))
    if endpoint.max_p99_ms is not None:
        checks.append(
            Check(
                f"p99 ≤ {endpoint.max_p99_ms:g} ms",
                f"p99 {format_ms(result.p99_ms)} ms",
                result.p99_ms <= endpoint.max_p99_ms,
            )
        )
    if endpoint.max_p99_over_p50 is not None:
        ratio = result.p99_ms / result.p50_ms if result.p50_ms else float("inf")
        checks.append(
            Check(
                f"p99/p50 ≤ {endpoint.max_p99_over_p50:g}",
                f"p99/p50 {ratio:.1f}",
                ratio <= endpoint.max_p99_over_p50,
            )
        )
    return tuple(checks)


def memory_check(memory: Memory) -> Check:
    peak_mib = max(memory.peak_rss_kib, memory.hwm_kib) / 1024
    return Check(f"RSS ≤ {MAX_RSS_MIB:g} MiB", f"{peak_mib:.0f} MiB", peak_mib <= MAX_RSS_MIB)


def format_rps(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def format_ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
