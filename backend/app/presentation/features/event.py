"""The event feature: the transactional outbox domain events are recorded in, the relay that hands
them to their handlers, and the claims that make a handler's effect happen once per event."""

from datetime import timedelta

from app.application.interfaces.events import EventsUnitOfWork
from app.infrastructure.repositories.event import SqlAlchemyEventOutbox, SqlAlchemyProcessedEvents
from app.presentation.api.v1.dependencies import event as dependencies
from app.presentation.features.feature import Feature, JobDefinition

FEATURE = Feature(
    key="event",
    repositories={
        "outbox": SqlAlchemyEventOutbox,
        "processed_events": SqlAlchemyProcessedEvents,
    },
    units_of_work=(EventsUnitOfWork,),
    providers=dependencies.PROVIDERS,
    bootstrap=dependencies.relay_leftovers_now,
    metrics=dependencies.track_events,
    jobs=(
        JobDefinition(
            name="event.forget_old",
            handler=lambda container: dependencies.ForgetOldEvents(container.event_relay),
            every=timedelta(hours=1),
        ),
    ),
)
