from __future__ import annotations

from app.application.interfaces.access import AccessPolicy, AccessUnitOfWork, PolicyRule
from app.application.use_cases.access.policy_access import require_policy_access
from app.domain.entities.user import User


class ListPolicyRules:
    """Administrators read the stored policy (what every process obeys within a second)."""

    def __init__(self, policy: AccessPolicy, uow: AccessUnitOfWork) -> None:
        self._policy = policy
        self._uow = uow

    async def execute(self, actor: User) -> list[PolicyRule]:
        await require_policy_access(self._policy, actor, "read")
        async with self._uow as uow:
            return await uow.policy_rules.list_rules()
