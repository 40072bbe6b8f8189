"""Access control with Casbin (`AccessPolicy` port): RBAC over the roles, plus an owner rule.

A policy line says that a role may do an action on a type of object, either on all of them
(`scope` "all") or only on those it owns ("own"). `*` matches any object type or action. The lines
live in the `casbin_rule` table (Alembic creates it and seeds the defaults), loaded through
Casbin's async SQLAlchemy adapter.

Changes are written by `repositories/access.py`, in the transaction of the administrator's request,
which also bumps a counter in `access_policy_version`. Several API processes share the tables; each
process compares its counter with the table's at most every `refresh_interval` seconds and reloads
when they differ, so a change is obeyed everywhere within that interval (0.25 s by default). The
comparison starts in the background once most of the interval is gone, so requests do not queue
behind it. A reload builds a new enforcer and swaps it in whole: a request never sees a
half-loaded policy.

Each loaded policy remembers its decisions. Casbin evaluates its matcher anew on every call (it
parses the expression with `ast` each time: a few percent of an authenticated request's time), but
a decision depends only on the role, the object type, the action and whether the object is the
caller's own, other's or nobody's: a handful of combinations. The memo belongs to the enforcer that
made the decisions, so a reload (a policy change) starts with an empty one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from uuid import UUID

import casbin
from casbin_async_sqlalchemy_adapter import Adapter
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.entities.user import User

MODEL = """
[request_definition]
r = sub, role, obj, act, owner

[policy_definition]
p = role, obj, act, scope

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.role, p.role) && (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act) \
&& (p.scope == "all" || (p.scope == "own" && r.owner != "" && r.owner == r.sub))
"""
DEFAULT_REFRESH_INTERVAL_SECONDS = 0.25
# Far more than roles x object types x actions x 3 owner relations; a bound all the same.
MAX_REMEMBERED_DECISIONS = 4096
# The share of the refresh interval after which a request starts a background version check.
CHECK_AHEAD_AT = 0.6
logger = logging.getLogger("strata.access")
_READ_VERSION = text("SELECT version FROM access_policy_version WHERE id = 1")


# (role, object type, action, owner relation: "" none, "own" the caller's, "other" someone else's)
_DecisionKey = tuple[str, str, str, str]


class _LoadedPolicy:
    """An enforcer and the decisions it has made."""

    __slots__ = ("decisions", "enforcer")

    def __init__(self, enforcer: casbin.AsyncEnforcer) -> None:
        self.enforcer = enforcer
        self.decisions: dict[_DecisionKey, bool] = {}

    def decide(self, user: User, action: str, object_type: str, owner_id: UUID | None) -> bool:
        relation = "" if owner_id is None else "own" if owner_id == user.id else "other"
        key = (user.role.value, object_type, action, relation)
        decision = self.decisions.get(key)
        if decision is None:
            owner = str(owner_id) if owner_id is not None else ""
            decision = bool(
                self.enforcer.enforce(str(user.id), user.role.value, object_type, action, owner)
            )
            if len(self.decisions) >= MAX_REMEMBERED_DECISIONS:
                self.decisions.clear()
            self.decisions[key] = decision
        return decision


class CasbinAccessPolicy:
    """The `AccessPolicy` port, read from the database through Casbin's async SQLAlchemy adapter.

    Give it the read-only engine: it only reads (changes go through `uow.policy_rules`).
    """

    def __init__(
        self, engine: AsyncEngine, *, refresh_interval: float = DEFAULT_REFRESH_INTERVAL_SECONDS
    ) -> None:
        self._engine = engine
        self._refresh_interval = refresh_interval
        self._policy: _LoadedPolicy | None = None
        self._version: int | None = None
        self._checked_at = 0.0
        self._reload_lock = asyncio.Lock()
        self._check_ahead: asyncio.Task[None] | None = None

    async def load(self) -> _LoadedPolicy:
        """Read the policy (at start-up, and whenever another process changed it)."""
        # The version first: a change committed in between makes the next check reload again.
        version = await self._read_version()
        enforcer = casbin.AsyncEnforcer(
            casbin.Enforcer.new_model(text=MODEL), Adapter(self._engine)
        )
        await enforcer.load_policy()
        policy = _LoadedPolicy(enforcer)
        self._policy, self._version = policy, version
        self._checked_at = time.monotonic()
        return policy

    async def warm_up(self) -> None:
        """Load at start-up; with the database unreachable, leave it to the first request."""
        try:
            await self.load()
        except (OSError, OperationalError, InterfaceError) as exc:
            logger.warning(
                "access policy not loaded at start-up", extra={"error": type(exc).__name__}
            )

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        if not user.is_active:
            return False
        policy = await self._current()
        return policy.decide(user, action, object_type, owner_id)

    async def refresh(self) -> None:
        async with self._reload_lock:
            await self.load()

    async def _current(self) -> _LoadedPolicy:
        policy = self._policy
        if policy is not None and not self._stale():
            if self._due_for_check_ahead():
                self._check_ahead = asyncio.create_task(self._check_version_ahead())
            return policy
        async with self._reload_lock:  # one reload at a time, however many requests wait
            if self._policy is None:
                return await self.load()
            if self._stale():
                if await self._read_version() != self._version:
                    return await self.load()
                self._checked_at = time.monotonic()
            return self._policy

    def _stale(self) -> bool:
        return time.monotonic() - self._checked_at >= self._refresh_interval

    def _due_for_check_ahead(self) -> bool:
        """Most of the interval gone and no check under way: check in the background now, so
        that requests find the version checked rather than queue behind the check (which waits
        for a pooled connection like any request) when the interval is up. The guarantee is
        unchanged: a policy older than the interval is never used; requests wait as before
        should the background check not have finished by then."""
        age = time.monotonic() - self._checked_at
        return (
            self._check_ahead is None
            and self._refresh_interval > 0
            and age >= self._refresh_interval * CHECK_AHEAD_AT
        )

    async def _check_version_ahead(self) -> None:
        try:
            async with self._reload_lock:
                if time.monotonic() - self._checked_at < self._refresh_interval * CHECK_AHEAD_AT:
                    return  # a request's check got there first
                started = time.monotonic()
                if await self._read_version() != self._version:
                    await self.load()
                else:
                    self._checked_at = started
        except Exception as exc:  # the request that finds it stale checks (and fails) itself
            logger.warning("access policy check failed", extra={"error": type(exc).__name__})
        finally:
            self._check_ahead = None

    async def _read_version(self) -> int:
        async with self._engine.connect() as connection:
            return int(await connection.scalar(_READ_VERSION) or 0)
