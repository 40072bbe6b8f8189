"""Domain events through the outbox, end to end: recorded with their change, handed out after the
commit, handed out at start-up when a crash left them behind, and handled once (issue 11 §2)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from app.domain.events.payment import PaymentSucceeded
from app.domain.events.user import UserRegistered
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.database.engine import Database
from app.infrastructure.models.audit import AuditEventModel
from app.infrastructure.models.event import OutboxEventModel
from app.infrastructure.repositories.event import SqlAlchemyEventOutbox
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from app.presentation.main import create_app
from tests.builders import make_user
from tests.e2e.conftest import USER_PASSWORD, make_settings, running_client
from tests.e2e.test_credentials import mails_to


async def unpublished_events(database: Database) -> int:
    async with database.read_engine.connect() as connection:
        query = (
            select(func.count())
            .select_from(OutboxEventModel)
            .where(OutboxEventModel.published_at.is_(None))
        )
        return int((await connection.execute(query)).scalar_one())


async def test_a_registration_is_recorded_and_handed_out_after_the_response(
    committing_database: Database, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, mail_dir=tmp_path)
    async with running_client(settings) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "ada@example.com", "password": USER_PASSWORD}
        )
        assert response.status_code == 201

    assert len(mails_to(tmp_path, "ada@example.com")) == 1
    assert await unpublished_events(committing_database) == 0


async def test_an_event_a_crash_left_in_the_outbox_goes_out_at_the_next_start(
    committing_database: Database, database_url: str, tmp_path: Path
) -> None:
    # The account and its event were committed; the process died before handing the event out.
    user = make_user(email="left@example.com")
    async with committing_database.engine.begin() as connection:
        await SqlAlchemyUserRepository(connection).add(user)
        await SqlAlchemyEventOutbox(connection).add(
            [UserRegistered(occurred_at=user.created_at, user_id=user.id)], datetime.now(UTC)
        )
    assert await unpublished_events(committing_database) == 1

    async with running_client(make_settings(database_url, mail_dir=tmp_path)):
        pass  # start-up relays what the last run left

    assert len(mails_to(tmp_path, "left@example.com")) == 1
    assert await unpublished_events(committing_database) == 0


async def test_a_payment_event_handed_out_twice_is_audited_once(
    committing_database: Database, database_url: str
) -> None:

    event = PaymentSucceeded(
        occurred_at=datetime.now(UTC),
        payment_id=new_id(),
        user_id=None,
        amount_cents=500,
        currency="USD",
    )
    app = create_app(make_settings(database_url))
    async with LifespanManager(app):
        relay = app.state.container.event_relay
        await relay.relay([event])
        await relay.relay([event])  # a redelivery, as after a crash before marking it published

    async with committing_database.read_engine.connect() as connection:
        query = (
            select(func.count())
            .select_from(AuditEventModel)
            .where(AuditEventModel.action == "payment.succeeded")
        )
        assert (await connection.execute(query)).scalar_one() == 1
