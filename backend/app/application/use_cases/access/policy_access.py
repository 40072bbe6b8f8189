"""Who may read and change the access policy (the stored rules, `uow.policy_rules`): the
`AccessPolicy` port decides, as for any other object type."""

from __future__ import annotations

from app.application.interfaces.access import POLICY, AccessPolicy
from app.domain.entities.user import AdminRequiredError, User


async def require_policy_access(policy: AccessPolicy, actor: User, action: str) -> None:
    """Refuses `actor` (as not an administrator) unless the policy lets them `action` it."""
    if not await policy.allows(actor, action, POLICY):
        raise AdminRequiredError()
