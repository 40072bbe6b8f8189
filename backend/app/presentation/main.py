"""The app factory: `create_app(settings)` builds one Strata app; engines and clients are built in
its lifespan, so importing this module starts nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from app.core.config import Settings
from app.core.logging import configure_logging
from app.infrastructure.database import migrations
from app.presentation.api.methods import install_http_methods
from app.presentation.api.metrics import HttpMetrics
from app.presentation.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.presentation.api.openapi import install_openapi
from app.presentation.api.problem import install_problem_handlers
from app.presentation.api.v1.dependencies.container import Container
from app.presentation.api.v1.dependencies.rate_limit import LimitApi
from app.presentation.api.v1.routers import (
    access,
    credentials,
    health,
    payment,
    product,
    resource,
    session,
    user,
)
from app.presentation.bootstrap import bootstrap

GZIP_MINIMUM_BYTES = 1_000
UPLOAD_PATHS = re.compile(r"^/api/v1/resources/[^/]+/files/?$")
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = Container.build(settings)
        app.state.container = container
        app.state.metrics.track_pool(container.database.pool_in_use)
        app.state.metrics.track_cache("catalog", container.catalog_cache)
        if container.payment_breaker is not None:
            breaker = container.payment_breaker
            app.state.metrics.track_circuit("stripe", lambda: breaker.state.value)
        try:
            await migrations.ensure_at_head(container.database.engine)
            await container.access_policy.warm_up()
            await bootstrap(container)
            yield
        finally:
            await container.close()

    app = FastAPI(
        title="Strata",
        version=_version(),
        summary="A production-grade FastAPI backend built with Onion / Clean Architecture.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = HttpMetrics()
    install_problem_handlers(app)
    install_openapi(app, settings)
    install_http_methods(app)  # HEAD wherever GET is; every 405 lists all allowed methods

    # Each router carries its full prefix, so the route template in logs and metrics is complete.
    app.include_router(health.router)  # probes and metrics: never rate limited
    app.include_router(payment.webhook_router)  # Stripe's: verified by signature instead
    for feature in (session, credentials, user, access, product, resource, payment):
        app.include_router(feature.router, dependencies=[LimitApi])

    # Added innermost first: the request context wraps everything, so even a 413 has a request id.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        large_body_paths=UPLOAD_PATHS,
        large_max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    )
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # Credentials are never combined with a wildcard origin.
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
                "Accept-Language",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app


def _version() -> str:
    try:
        return version("strata")
    except PackageNotFoundError:
        return "0.0.0"
