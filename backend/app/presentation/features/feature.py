"""What one feature contributes to the app, declared in one place of its own.

A feature module (`app/presentation/features/<key>.py`) builds one `Feature`; the app factory, the
composition root, the units of work, the error table, the message catalogs, the default policy, the
metrics and GDPR export and erasure loop over the registered features and never name one. Every
field is data or a callable run when the app is built, never at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.application.interfaces.access import PolicyRule
from app.application.interfaces.job import JobHandler
from app.application.interfaces.privacy import PersonalDataHolder
from app.core.config import Settings
from app.domain.entities.job import RetryPolicy
from app.infrastructure.repositories.unit_of_work import RepositoryFactory
from app.presentation.api.routing import FeatureRouter
from app.presentation.container import Container, Provider

if TYPE_CHECKING:
    from app.presentation.api.metrics import HttpMetrics
    from app.presentation.features.registry import FeatureSet

# language -> error code -> message template
MessageCatalog = Mapping[str, Mapping[str, str]]
# A router whose routes depend on the other features (the GDPR export's sections), built per app.
RouterFactory = Callable[["FeatureSet"], FeatureRouter]


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDataPart:
    """A feature's share of GDPR export and erasure.

    `holder` builds the application-layer holder (it reads and erases the rows, in the privacy use
    case's one transaction); `sections` names the export's members the holder fills, each with the
    response schema `present` turns its value into.
    """

    holder: Callable[[Container], PersonalDataHolder[Any]]
    sections: Mapping[str, Any] = field(default_factory=dict)
    present: Callable[[Mapping[str, object]], Mapping[str, object]] = lambda _sections: {}


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDefinition:
    """A kind of background job the feature runs (see `services/jobs.py` `JobKind`). `handler`
    is built once the container is: it may use any feature's providers."""

    name: str
    handler: Callable[[Container], JobHandler]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # A worker that has not renewed its hold on a running job for this long is taken for dead;
    # or a function of the container that says (from the feature's settings).
    visibility_timeout: timedelta | Callable[[Container], timedelta] = timedelta(minutes=5)
    # A periodic job: one per period across every process.
    every: timedelta | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """One feature's contributions. `key` is its name in every layer (`product`, `session`, ...)."""

    key: str
    # Routers under the API's per-client rate limit, and those outside it (probes, signed webhooks).
    # `FeatureRouter`s: none can be included without the gate on its routes' prefix (routing.py).
    routers: tuple[FeatureRouter | RouterFactory, ...] = ()
    unlimited_routers: tuple[FeatureRouter, ...] = ()
    # Paths (regular expressions) whose bodies may be as large as an upload (MAX_UPLOAD_BYTES).
    upload_paths: tuple[str, ...] = ()
    # Repository name (the unit-of-work member) -> the SQL implementation, opened on a connection.
    repositories: Mapping[str, RepositoryFactory] = field(default_factory=dict)
    # The units of work the feature's use cases take: every repository they name must be registered.
    units_of_work: tuple[type, ...] = ()
    # Error family -> HTTP status, for families the shared table does not already map.
    error_statuses: Mapping[type[Exception], int] = field(default_factory=dict)
    messages: MessageCatalog = field(default_factory=dict)
    # Policy object types the feature's use cases ask about, and what a fresh install allows on them.
    object_types: tuple[str, ...] = ()
    policy_rules: tuple[PolicyRule, ...] = ()
    # What the composition root builds for the feature alone (a cache, a payment gateway).
    providers: tuple[Provider[Any], ...] = ()
    # Gauges and collectors the feature adds to the app's registry, once its providers exist.
    metrics: Callable[[Container, HttpMetrics], None] | None = None
    # Called once the container is built: subscribe event handlers and the like.
    on_start: Callable[[Container], None] | None = None
    # Run at every start-up, once the database is migrated (the first admin, demo data).
    bootstrap: Callable[[Container], Awaitable[None]] | None = None
    personal_data: PersonalDataPart | None = None
    # What the published OpenAPI schema can only learn from the feature (values of its enums).
    describe_openapi: Callable[[dict[str, Any], Settings, FeatureSet], None] | None = None
    # The feature's own settings (a Pydantic model), read from FEATURES__<KEY>__<NAME>; the use
    # cases get them from `container.settings_of(model)`.
    settings: type[BaseModel] | None = None
    # An Alembic version location of the feature's own (a branch depending on the main tree).
    migrations: Path | None = None
    # The kinds of background jobs it declares, periodic ones included.
    jobs: tuple[JobDefinition, ...] = ()

    def built_routers(self, features: FeatureSet) -> list[FeatureRouter]:
        """`routers`, each factory among them built for this app's `features`."""
        return [
            declared if isinstance(declared, FeatureRouter) else declared(features)
            for declared in self.routers
        ]
