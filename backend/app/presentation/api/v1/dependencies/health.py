"""Composition of the health feature: the readiness probes."""

from __future__ import annotations

from app.infrastructure.adapters.health import ReadinessProbes
from app.presentation.container import Provider, ProviderKey

READINESS = ProviderKey[ReadinessProbes]("health.readiness")

PROVIDERS = (
    Provider(
        key=READINESS,
        build=lambda container: ReadinessProbes(
            container.database, container.redis, container.readiness_checks
        ),
    ),
)
