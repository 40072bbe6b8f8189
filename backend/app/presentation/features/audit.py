"""The audit feature: the trail of who did what, and its part of every user's GDPR export."""

from app.application.interfaces.audit import AUDIT_OBJECT_TYPES, AuditUnitOfWork
from app.application.use_cases.audit.personal_data import AuditPersonalData
from app.infrastructure.repositories.audit import SqlAlchemyAuditRepository
from app.presentation.api.v1.routers import audit as routers
from app.presentation.api.v1.schemas import audit as schemas
from app.presentation.features.feature import Feature, PersonalDataPart

FEATURE = Feature(
    key="audit",
    routers=(routers.router,),
    repositories={"audit_events": SqlAlchemyAuditRepository},
    units_of_work=(AuditUnitOfWork,),
    object_types=AUDIT_OBJECT_TYPES,
    personal_data=PersonalDataPart(
        holder=lambda _container: AuditPersonalData(),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
)
