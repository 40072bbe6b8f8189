"""The access feature: the access policy's rules, which administrators change at run time."""

from typing import Any

from app.application.interfaces.access import (
    ACCESS_OBJECT_TYPES,
    ACCESS_POLICY_RULES,
    ANY,
    AccessUnitOfWork,
)
from app.core.config import Settings
from app.infrastructure.repositories.access import SqlAlchemyPolicyRuleRepository
from app.presentation.api.messages import access as messages
from app.presentation.api.openapi import fill_enum
from app.presentation.api.v1.dependencies import access as dependencies
from app.presentation.api.v1.routers import access as routers
from app.presentation.api.v1.schemas import access as schemas
from app.presentation.features.feature import Feature
from app.presentation.features.registry import FeatureSet


def _describe_openapi(schema: dict[str, Any], _settings: Settings, features: FeatureSet) -> None:
    # A rule may name the object type of any registered feature, or all of them.
    fill_enum(schema, schemas.OBJECT_TYPES_ENUM, [ANY, *features.object_types])


FEATURE = Feature(
    key="access",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    repositories={"policy_rules": SqlAlchemyPolicyRuleRepository},
    units_of_work=(AccessUnitOfWork,),
    object_types=ACCESS_OBJECT_TYPES,
    policy_rules=ACCESS_POLICY_RULES,
    describe_openapi=_describe_openapi,
    on_start=dependencies.reload_policy_on_change,
)
