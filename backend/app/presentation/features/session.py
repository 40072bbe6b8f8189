"""The session feature: log in, refresh, log out, the caller's sessions."""

from datetime import timedelta

from app.application.interfaces.session import SessionUnitOfWork
from app.application.use_cases.session.personal_data import SessionPersonalData
from app.application.use_cases.session.sweep_expired_sessions import SweepExpiredSessions
from app.infrastructure.repositories.session import SqlAlchemySessionRepository
from app.presentation.api.messages import session as messages
from app.presentation.api.v1.routers import session as routers
from app.presentation.api.v1.schemas import session as schemas
from app.presentation.features.feature import Feature, JobDefinition, PersonalDataPart

FEATURE = Feature(
    key="session",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    repositories={"sessions": SqlAlchemySessionRepository},
    units_of_work=(SessionUnitOfWork,),
    personal_data=PersonalDataPart(
        holder=lambda _container: SessionPersonalData(),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
    jobs=(
        JobDefinition(
            name="session.sweep_expired",
            handler=lambda container: SweepExpiredSessions(
                lambda: container.unit_of_work(SessionUnitOfWork), container.clock
            ),
            every=timedelta(minutes=10),
        ),
    ),
)
