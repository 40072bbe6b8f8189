"""The app factory: `create_app(settings)` builds one Strata app; engines and clients are built in
its lifespan, so importing this module starts nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from app.core.config import Settings
from app.core.logging import configure_logging
from app.infrastructure.database import migrations
from app.presentation.api.i18n import Translator
from app.presentation.api.methods import install_http_methods
from app.presentation.api.metrics import HttpMetrics
from app.presentation.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.presentation.api.openapi import install_openapi
from app.presentation.api.problem import install_problem_handlers, merged_error_statuses
from app.presentation.api.v1.dependencies.rate_limit import LimitApi
from app.presentation.bootstrap import bootstrap
from app.presentation.container import Container
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet

GZIP_MINIMUM_BYTES = 1_000
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file


def create_app(settings: Settings | None = None, features: FeatureSet | None = None) -> FastAPI:
    """The app serving `features` (by default those of `features/enabled.py`)."""
    settings = settings or Settings()
    features = features or FeatureSet.load(ENABLED_FEATURES)
    configure_logging(settings.log_level)

    app = FastAPI(
        title="Strata",
        version=_version(),
        summary="A production-grade FastAPI backend built with Onion / Clean Architecture.",
        lifespan=_lifespan(settings, features),
    )
    app.state.settings = settings
    app.state.metrics = HttpMetrics()
    install_problem_handlers(
        app,
        error_statuses=merged_error_statuses(feature.error_statuses for feature in features),
        translator=Translator(features.message_catalogs),
    )
    install_openapi(app, settings, features)
    install_http_methods(app)  # HEAD wherever GET is; every 405 lists all allowed methods

    _include_routers(app, features)

    _add_middleware(app, settings, features)
    return app


def _lifespan(
    settings: Settings, features: FeatureSet
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Build the container, check the schema, warm up and bootstrap; close it all at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = Container.build(settings, features)
        app.state.container = container
        app.state.metrics.track_pool(container.database.pool_in_use)
        for feature in features:
            if feature.metrics is not None:
                feature.metrics(container, app.state.metrics)
        try:
            await migrations.ensure_at_head(container.database.engine, features.migration_locations)
            await container.access_policy.warm_up()
            await bootstrap(container)
            yield
        finally:
            await container.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings, features: FeatureSet) -> None:
    # Added innermost first: the request context wraps everything, so even a 413 has a request id.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        large_body_paths=_upload_paths(features),
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


def _include_routers(app: FastAPI, features: FeatureSet) -> None:
    # Each router carries its full prefix, so the route template in logs and metrics is complete,
    # and its gate can compare paths with its routes'. Included directly, one level deep: each
    # level of nesting is matched again on every request, and a `FeatureRouter` turns away by
    # itself the paths outside its routes' shared prefix (routing.py).
    for feature in features:
        for router in feature.unlimited_routers:
            app.include_router(router)
        for router in feature.built_routers(features):
            app.include_router(router, dependencies=[LimitApi])


def _upload_paths(features: FeatureSet) -> re.Pattern[str]:
    patterns = [pattern for feature in features for pattern in feature.upload_paths]
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns) or r"(?!)")


def _version() -> str:
    try:
        return version("strata")
    except PackageNotFoundError:
        return "0.0.0"
