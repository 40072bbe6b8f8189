"""Port of access control: may this user do this action on this kind of object (owned by whom)?

The production adapter is Casbin (RBAC over roles `admin` and `user`, plus an owner rule). Use cases
ask it; routers never decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.domain.entities.user import User


@dataclass(frozen=True, slots=True, order=True)
class PolicyRule:
    """One policy line: `role` may do `action` on `object_type` objects; `scope` is "all" or "own"."""

    role: str
    object_type: str
    action: str
    scope: str = "all"


ROLES = ("admin", "user")
OBJECT_TYPES = ("*", "resource", "file", "policy", "audit", "user", "product", "payment")
ACTIONS = ("*", "create", "read", "update", "delete")
SCOPES = ("all", "own")

# What a fresh installation allows (seeded by the migration that creates the policy table):
# administrators everything; users their own resources and files, and to create and read their
# own payments (a payment changes only through the provider's webhooks).
DEFAULT_RULES = (
    PolicyRule("admin", "*", "*", "all"),
    *(
        PolicyRule("user", object_type, action, "own")
        for object_type in ("resource", "file")
        for action in ("create", "read", "update", "delete")
    ),
    *(PolicyRule("user", "payment", action, "own") for action in ("create", "read")),
)


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
