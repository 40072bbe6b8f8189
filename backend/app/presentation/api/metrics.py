"""Prometheus metrics, in a registry of the app's own (so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request, by route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Each request's counter and histogram, by (method, route template, status): looked up
        # by label values, under a lock, on every request otherwise. Bounded as the labels are.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = self._children[key] = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def track_pool(self, connections_in_use: Callable[[], int]) -> None:
        self.registry.register(_PoolCollector(connections_in_use))

    def track_cache(self, name: str, cache: CacheStatistics) -> None:
        self.registry.register(_CacheCollector(name, cache))

    def track_circuit(self, dependency: str, state: Callable[[], str]) -> None:
        """A circuit breaker's state (`closed`, `open`, `half_open`), read when scraped."""
        self.registry.register(_CircuitCollector(dependency, state))


class CacheStatistics(Protocol):
    hits: int
    misses: int


class _PoolCollector(Collector):
    """Reads the pool when scraped, so the gauge is never stale."""

    def __init__(self, connections_in_use: Callable[[], int]) -> None:
        self._in_use = connections_in_use

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            value=self._in_use(),
        )


class _CacheCollector(Collector):
    def __init__(self, name: str, cache: CacheStatistics) -> None:
        self._name = name
        self._cache = cache

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "read_cache_lookups",
            "Read-cache lookups, by cache and outcome.",
            labels=["cache", "outcome"],
        )
        family.add_metric([self._name, "hit"], self._cache.hits)
        family.add_metric([self._name, "miss"], self._cache.misses)
        yield family


class _CircuitCollector(Collector):
    STATES = ("closed", "open", "half_open")

    def __init__(self, dependency: str, state: Callable[[], str]) -> None:
        self._dependency = dependency
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "circuit_breaker_state",
            "1 for the state each dependency's circuit breaker is in, 0 for the others.",
            labels=["dependency", "state"],
        )
        current = self._state()
        for state in self.STATES:
            family.add_metric([self._dependency, state], 1.0 if state == current else 0.0)
        yield family
