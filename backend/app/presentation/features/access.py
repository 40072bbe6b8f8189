"""The access feature: the access policy's rules, which administrators change at run time."""

from app.application.interfaces.access import (
    ACCESS_OBJECT_TYPES,
    ACCESS_POLICY_RULES,
    AccessUnitOfWork,
)
from app.infrastructure.repositories.access import SqlAlchemyPolicyRuleRepository
from app.presentation.api.messages import access as messages
from app.presentation.api.v1.routers import access as routers
from app.presentation.features.feature import Feature

FEATURE = Feature(
    key="access",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    repositories={"policy_rules": SqlAlchemyPolicyRuleRepository},
    units_of_work=(AccessUnitOfWork,),
    object_types=ACCESS_OBJECT_TYPES,
    policy_rules=ACCESS_POLICY_RULES,
)
