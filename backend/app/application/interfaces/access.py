"""Port of access control: may this user do this action on this kind of object (owned by whom)?

The production adapter is Casbin (RBAC over roles `admin` and `user`, plus an owner rule). Use cases
ask it; routers never decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.events import OutboxUnitOfWork
from app.domain.entities.user import User
from app.domain.errors import ConflictError, NotFoundError


@dataclass(frozen=True, slots=True, order=True)
class PolicyRule:
    """One policy line: `role` may do `action` on `object_type` objects; `scope` is "all" or "own"."""

    role: str
    object_type: str
    action: str
    scope: str = "all"


ROLES = ("admin", "user")
ACTIONS = ("*", "create", "read", "update", "delete")
SCOPES = ("all", "own")
# In a rule, any object type or any action. Each feature declares its own object types next to its
# ports (`RESOURCE_OBJECT_TYPES`, ...); a rule may name one of those or this.
ANY = "*"

POLICY = "policy"
ACCESS_OBJECT_TYPES = (POLICY,)
# Administrators may do everything, on every feature's objects: the rule that lets a fresh
# installation be administered at all. Each feature declares its own defaults next to its ports
# (`RESOURCE_POLICY_RULES`, ...); the migrations seed their union.
ACCESS_POLICY_RULES = (PolicyRule("admin", ANY, ANY, "all"),)


class AccessPolicy(Protocol):
    """Decides, from the policy every API process shares; a change made anywhere is obeyed by
    every process within a second."""

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        """True if `user` may do `action` on an object of `object_type` owned by `owner_id`."""
        ...

    async def refresh(self) -> None:
        """Reload the policy now (this process has just changed it)."""
        ...


class PolicyRuleRepository(Protocol):
    """The stored policy lines, changed in the unit of work's transaction."""

    async def claim_change(self) -> None:
        """Mark the policy as changed, first in a changing transaction: every process reloads
        once it commits, and concurrent changes wait for each other until then."""
        ...

    async def list_rules(self) -> list[PolicyRule]:
        """Every rule, sorted."""
        ...

    async def add(self, rule: PolicyRule) -> None: ...

    async def remove(self, rule: PolicyRule) -> bool:
        """False if there was no such rule."""
        ...


class AccessUnitOfWork(AuditUnitOfWork, OutboxUnitOfWork, Protocol):
    """What changing the access policy touches."""

    @property
    def policy_rules(self) -> PolicyRuleRepository: ...


# Errors of the policy's rules
class PolicyRuleExistsError(ConflictError):
    code = "policy.exists"


class PolicyRuleNotFoundError(NotFoundError):
    code = "policy.not_found"


class PolicyLockoutError(ConflictError):
    """Removing the rule would leave no administrator able to manage the policy."""

    code = "policy.lockout"
