"""The idempotency feature: Idempotency-Key claims, and their first results, for 24 hours."""

from datetime import timedelta

from app.application.interfaces.idempotency import IdempotencyUnitOfWork
from app.application.use_cases.idempotency.personal_data import IdempotencyPersonalData
from app.application.use_cases.idempotency.sweep_expired_keys import SweepExpiredIdempotencyKeys
from app.infrastructure.repositories.idempotency import SqlAlchemyIdempotencyRepository
from app.presentation.api.messages import idempotency as messages
from app.presentation.features.feature import Feature, JobDefinition, PersonalDataPart

FEATURE = Feature(
    key="idempotency",
    messages=messages.MESSAGES,
    repositories={"idempotency_keys": SqlAlchemyIdempotencyRepository},
    units_of_work=(IdempotencyUnitOfWork,),
    # Nothing to export (a stored result repeats what other sections hold); deleted on erasure.
    personal_data=PersonalDataPart(holder=lambda _container: IdempotencyPersonalData()),
    jobs=(
        JobDefinition(
            # Keys live 24 hours: none (nor the client secret its first result holds) outlives
            # that by more than this period.
            name="idempotency.sweep_expired",
            handler=lambda container: SweepExpiredIdempotencyKeys(
                lambda: container.unit_of_work(IdempotencyUnitOfWork), container.clock
            ),
            every=timedelta(minutes=10),
        ),
    ),
)
