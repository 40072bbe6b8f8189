"""What the outbox relay and the event handlers did, as Prometheus metrics (made per app: each
app has its own registry, which the event feature registers these in)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from app.domain.events import DomainEvent


class EventStatistics:
    def __init__(self) -> None:
        self.published_total = Counter(
            "strata_events_published_total",
            "Events handed out by the outbox relay, by name",
            ["event"],
            registry=None,
        )
        self.handled_total = Counter(
            "strata_events_handled_total",
            "Events handled in this process, by handler and outcome (handled, failed)",
            ["handler", "outcome"],
            registry=None,
        )
        self.outbox_lag = Gauge(
            "strata_outbox_lag_seconds",
            "Age of the oldest event recorded but not yet handed out (0 when none waits)",
            registry=None,
        )

    def published(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self.published_total.labels(event.name).inc()

    def handled(self, handler: str, outcome: str) -> None:
        self.handled_total.labels(handler, outcome).inc()

    def lag(self, seconds: float) -> None:
        self.outbox_lag.set(seconds)

    def register(self, registry: CollectorRegistry) -> None:
        for metric in (self.published_total, self.handled_total, self.outbox_lag):
            registry.register(metric)
