"""What the measurements produced: a row per wrk run, the server's memory, each database's share of
the report, and whether each met its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.config import BIG_PRODUCTS, CATALOG_CACHE_OFF, CATALOG_CACHE_TTL_S, DATABASE_NAMES
from bench.endpoints import MAX_RSS_MIB, Endpoint
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

    @property
    def share(self) -> float:
        return self.result.rps / self.ceiling_rps if self.ceiling_rps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.label,
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
    rows: list[Row] = field(default_factory=list)
    under_login: list[Row] = field(default_factory=list)
    memory: Memory | None = None
    cache_lookups: CacheLookups | None = None
    # The catalog reads again with the cache off. Their checks are informational: the targets
    # apply to the default configuration, so checks() leaves them out of the summary.
    uncached: list[Row] = field(default_factory=list)
    uncached_cache_lookups: CacheLookups | None = None
    big: Row | None = None
    big_memory: Memory | None = None
    big_cache_lookups: CacheLookups | None = None

    @property
    def name(self) -> str:
        return DATABASE_NAMES[self.key]

    def checks(self) -> list[tuple[str, Check]]:
        found = [(row.endpoint.label, check) for row in self.rows for check in row.checks]
        found += [(row.endpoint.label, check) for row in self.under_login for check in row.checks]
        if self.memory:
            found.append(("server memory", memory_check(self.memory)))
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
            "login_under_load": [row.to_json() for row in self.under_login],
            "memory": self.memory.to_json() if self.memory else None,
            "product_cache_ttl_seconds": CATALOG_CACHE_TTL_S,
            "catalog_cache_lookups": _json_or_none(self.cache_lookups),
            "catalog_cache_off": {
                "product_cache_ttl_seconds": CATALOG_CACHE_OFF,
                "targets_informational": True,
                "endpoints": [row.to_json() for row in self.uncached],
                "catalog_cache_lookups": _json_or_none(self.uncached_cache_lookups),
            },
            "recommendations_100k": _json_or_none(self.big),
            "memory_100k": _json_or_none(self.big_memory),
            "catalog_cache_lookups_100k": _json_or_none(self.big_cache_lookups),
        }


def _json_or_none(record: Row | Memory | CacheLookups | None) -> dict[str, Any] | None:
    return record.to_json() if record is not None else None


def endpoint_checks(endpoint: Endpoint, result: WrkResult, ceiling_rps: float) -> tuple[Check, ...]:
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
    if endpoint.min_rps is not None:
        checks.append(
            Check(
                f"≥ {endpoint.min_rps:g} req/s",
                f"{result.rps:.1f} req/s",
                result.rps >= endpoint.min_rps,
            )
        )
    if endpoint.max_p99_ms is not None:
        checks.append(
            Check(
                f"p99 ≤ {endpoint.max_p99_ms:g} ms",
                f"p99 {format_ms(result.p99_ms)} ms",
                result.p99_ms <= endpoint.max_p99_ms,
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
