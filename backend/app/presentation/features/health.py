"""The health feature: liveness and readiness probes, and the Prometheus metrics endpoint."""

from app.presentation.api.v1.dependencies import health as dependencies
from app.presentation.api.v1.routers import health as routers
from app.presentation.features.feature import Feature

FEATURE = Feature(
    key="health",
    unlimited_routers=(routers.router,),  # probes must answer whatever a client has spent
    providers=dependencies.PROVIDERS,
)
