"""The resource feature: user-owned resources and their files, encrypted at rest."""

from typing import Any

from app.application.interfaces.resource import (
    RESOURCE_OBJECT_TYPES,
    RESOURCE_POLICY_RULES,
    ResourceUnitOfWork,
)
from app.application.use_cases.resource.personal_data import ResourcePersonalData
from app.core.config import Settings
from app.infrastructure.adapters.content_type import STORABLE_MEDIA_TYPES
from app.infrastructure.repositories.resource import (
    SqlAlchemyResourceFileRepository,
    SqlAlchemyResourceRepository,
)
from app.presentation.api.messages import resource as messages
from app.presentation.api.v1.dependencies import resource as dependencies
from app.presentation.api.v1.routers import resource as routers
from app.presentation.api.v1.schemas import resource as schemas
from app.presentation.features.feature import Feature, PersonalDataPart
from app.presentation.features.registry import FeatureSet
from app.presentation.shared_providers import FILE_STORAGE

DOWNLOAD = ("/api/v1/resources/{resource_id}/files/{file_id}", "get")


def _describe_openapi(schema: dict[str, Any], _settings: Settings, _features: FeatureSet) -> None:
    """A download answers with the stored file's own media type: one of those an upload takes."""
    path, method = DOWNLOAD
    schema["paths"][path][method]["responses"]["200"]["content"] = {
        media_type: {"schema": {"type": "string", "format": "binary"}}
        for media_type in sorted(STORABLE_MEDIA_TYPES)
    }


FEATURE = Feature(
    key="resource",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    upload_paths=(r"^/api/v1/resources/[^/]+/files/?$",),
    repositories={
        "resources": SqlAlchemyResourceRepository,
        "resource_files": SqlAlchemyResourceFileRepository,
    },
    units_of_work=(ResourceUnitOfWork,),
    object_types=RESOURCE_OBJECT_TYPES,
    policy_rules=RESOURCE_POLICY_RULES,
    providers=dependencies.PROVIDERS,
    personal_data=PersonalDataPart(
        holder=lambda container: ResourcePersonalData(container.get(FILE_STORAGE)),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
    describe_openapi=_describe_openapi,
)
