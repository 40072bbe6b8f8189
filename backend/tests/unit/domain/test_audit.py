"""An audit event as its subject sees it in their data export: nobody else's personal data."""

from __future__ import annotations

from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.audit import AuditEvent, AuditOutcome
from tests.fakes import DEFAULT_NOW

ME = UUID("01900000-0000-7000-8000-000000000001")
SOMEONE = UUID("01900000-0000-7000-8000-000000000002")

people = st.sampled_from([ME, SOMEONE, None])
events = st.builds(
    lambda actor, target, target_type, outcome, ip, request_id: AuditEvent.record(
        action="user.update",
        now=DEFAULT_NOW,
        actor_id=actor,
        target_type=target_type,
        target_id=target,
        outcome=outcome,
        ip=ip,
        request_id=request_id,
        details={"role": "admin"},
    ),
    people,
    people,
    st.sampled_from(["user", "session", None]),
    st.sampled_from(list(AuditOutcome)),
    st.sampled_from(["192.0.2.1", None]),
    st.sampled_from(["req-1", None]),
)


@given(events)
def test_the_subject_sees_what_happened_but_no_one_elses_data(event: AuditEvent) -> None:
    seen = event.as_seen_by(ME)

    own = event.actor_id == ME and event.outcome is AuditOutcome.SUCCESS
    assert seen.actor_id in (ME, None)
    assert seen.actor_id == (ME if event.actor_id == ME else None)
    assert (seen.ip, seen.request_id) == ((event.ip, event.request_id) if own else (None, None))
    if event.target_type == "user":
        assert seen.target_id in (str(ME), None)
        assert seen.target_id == (str(ME) if event.target_id == str(ME) else None)
    else:
        assert seen.target_id == event.target_id
    unchanged = ("id", "occurred_at", "action", "target_type", "outcome", "details")
    assert all(getattr(seen, name) == getattr(event, name) for name in unchanged)


def test_the_subjects_own_act_is_shown_whole() -> None:
    event = AuditEvent.record(
        action="auth.login", now=DEFAULT_NOW, actor_id=ME, ip="192.0.2.1", request_id="r-1"
    )

    assert event.as_seen_by(ME) == event
