"""The privacy feature: GDPR export and erasure, over every feature's personal-data part."""

from app.application.interfaces.privacy import PrivacyUnitOfWork
from app.presentation.api.v1.routers import privacy as routers
from app.presentation.features.feature import Feature

FEATURE = Feature(
    key="privacy",
    routers=(routers.router, routers.build_export_router),
    units_of_work=(PrivacyUnitOfWork,),
)
