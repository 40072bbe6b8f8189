"""The audit trail repository on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.audit import AuditFilter
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.repositories.audit import SqlAlchemyAuditRepository
from tests.builders import make_audit_event
from tests.fakes import DEFAULT_NOW


def event(action: str, actor_id: UUID | None, *, minutes: int = 0, **fields: Any) -> AuditEvent:
    return make_audit_event(
        action=action, now=DEFAULT_NOW + timedelta(minutes=minutes), actor_id=actor_id, **fields
    )


async def stored(connection: AsyncConnection, *events: AuditEvent) -> SqlAlchemyAuditRepository:
    audit = SqlAlchemyAuditRepository(connection)
    for item in events:
        await audit.add(item)
    return audit


async def test_an_event_round_trips_with_every_field(connection: AsyncConnection) -> None:
    actor, target = new_id(), new_id()
    recorded = event(
        "user.update",
        actor,
        target_type="user",
        target_id=target,
        outcome=AuditOutcome.DENIED,
        ip="2001:db8::7",
        request_id="req-1",
        details={"role": "admin", "note": "é ✓"},
    )
    audit = await stored(connection, recorded)

    [page_item] = await audit.list_page(AuditFilter(actor_id=actor), before=None, limit=10)

    assert page_item == recorded
    assert page_item.occurred_at == recorded.occurred_at
    assert page_item.details == {"role": "admin", "note": "é ✓"}


async def test_a_page_is_newest_first_and_continues_before_a_key(
    connection: AsyncConnection,
) -> None:
    actor = new_id()
    events = [event("auth.login", actor, minutes=index) for index in range(5)]
    audit = await stored(connection, *events)
    newest_first = sorted(events, key=lambda item: item.id, reverse=True)

    first = await audit.list_page(AuditFilter(actor_id=actor), before=None, limit=2)
    rest = await audit.list_page(AuditFilter(actor_id=actor), before=first[-1].id, limit=10)
    unfiltered = await audit.list_page(AuditFilter(), before=None, limit=5)

    assert first == newest_first[:2]
    assert rest == newest_first[2:]
    assert unfiltered == newest_first  # nothing newer was written meanwhile
    assert (
        await audit.list_page(AuditFilter(), before=newest_first[0].id, limit=3)
        == (newest_first[1:4])
    )


async def test_a_page_is_filtered_by_actor_and_action_together(
    connection: AsyncConnection,
) -> None:
    alice, bob = new_id(), new_id()
    alice_login = event("auth.login", alice)
    alice_logout = event("auth.logout", alice)
    bob_login = event("auth.login", bob)
    audit = await stored(connection, alice_login, alice_logout, bob_login)

    by_alice = await audit.list_page(AuditFilter(actor_id=alice), before=None, limit=10)
    logins_of_alice = await audit.list_page(
        AuditFilter(actor_id=alice, action="auth.login"), before=None, limit=10
    )
    logins = await audit.list_page(AuditFilter(action="auth.login"), before=None, limit=100)

    assert {item.id for item in by_alice} == {alice_login.id, alice_logout.id}
    assert logins_of_alice == [alice_login]
    assert {alice_login.id, bob_login.id} <= {item.id for item in logins}
    assert {item.action for item in logins} == {"auth.login"}
    assert await audit.list_page(AuditFilter(action="no.such"), before=None, limit=10) == []


async def test_the_events_about_a_user_are_those_they_did_or_underwent_oldest_first(
    connection: AsyncConnection,
) -> None:
    alice, admin = new_id(), new_id()
    did = event("auth.login", alice)
    underwent = event("user.update", admin, target_type="user", target_id=alice)
    unrelated = event("user.update", admin, target_type="user", target_id=new_id())
    audit = await stored(connection, did, underwent, unrelated)

    about_alice = await audit.list_about_user(alice)

    assert about_alice == sorted([did, underwent], key=lambda item: item.id)
    assert await audit.list_about_user(new_id()) == []


async def test_anonymising_erases_the_user_and_keeps_the_events(
    connection: AsyncConnection,
) -> None:
    alice, admin = new_id(), new_id()
    did = event("auth.login", alice, ip="203.0.113.9", request_id="req-a")
    underwent = event("user.update", admin, target_type="user", target_id=alice, ip="192.0.2.1")
    others = event("auth.login", admin, ip="192.0.2.1")
    audit = await stored(connection, did, underwent, others)

    await audit.anonymise_actor(alice)

    assert await audit.list_about_user(alice) == []
    anonymous = await audit.list_page(AuditFilter(), before=None, limit=3)
    by_id = {item.id: item for item in anonymous}
    assert (by_id[did.id].actor_id, by_id[did.id].ip) == (None, None)
    assert by_id[did.id].request_id == "req-a"  # not personal: it finds the request's logs
    assert (by_id[underwent.id].actor_id, by_id[underwent.id].target_id) == (admin, None)
    assert by_id[underwent.id].ip == "192.0.2.1"  # the admin's, not hers
    assert by_id[others.id] == others
