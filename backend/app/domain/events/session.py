"""What happens to sessions, told to whoever listens. Ids and a reason code only: a session's
address and user agent never travel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEvent(DomainEvent):
    session_id: UUID
    user_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.session_id


class SessionStarted(SessionEvent):
    """A login succeeded (with its second factor, when the account has one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded(SessionEvent):
    """One session ended: logged out ("logout"), revoked from the session list ("revoked"), or
    revoked because a spent refresh token came back ("refresh_reused": a stolen token, or its
    owner's, whichever came second). Sessions ended in bulk are told by the event that ended them
    (PasswordChanged, UserAccessChanged); expired ones are swept without a word."""

    reason: Literal["logout", "revoked", "refresh_reused"]
