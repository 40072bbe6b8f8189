"""Access policies (API.md "Access"); administrators only."""

from __future__ import annotations

from fastapi import Response, status

from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.access import ChangePolicyDep, ListPolicyRulesDep
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.schemas.access import (
    PolicyRuleBody,
    PolicyRuleList,
    PolicyRuleOut,
)

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/admin", tags=["access"])


@router.get("/policies", responses=problem_responses(401, 403), summary="The access policy's rules")
async def list_policies(actor: CurrentUser, list_rules: ListPolicyRulesDep) -> PolicyRuleList:
    rules = await list_rules.execute(actor)
    return PolicyRuleList(items=[PolicyRuleOut.of(rule) for rule in rules])


@router.post(
    "/policies",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
    summary="Add a rule (every API process obeys it within a second)",
)
async def add_policy(
    body: PolicyRuleBody,
    actor: CurrentUser,
    change: ChangePolicyDep,
    context: RequestContextDep,
    response: Response,
) -> PolicyRuleOut:
    rule = await change.add(actor, body.to_rule(), context)
    response.headers["Location"] = f"{router.prefix}/policies"
    return PolicyRuleOut.of(rule)


@router.delete(
    "/policies",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Remove a rule (the body names it)",
)
async def remove_policy(
    body: PolicyRuleBody, actor: CurrentUser, change: ChangePolicyDep, context: RequestContextDep
) -> None:
    await change.remove(actor, body.to_rule(), context)
