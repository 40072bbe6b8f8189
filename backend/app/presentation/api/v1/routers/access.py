"""Access policies and the audit trail (API.md "Access"); administrators only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.application.interfaces.audit import AuditFilter
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.domain.value_objects.text import UNTRIMMED_LINE_PATTERN
from app.presentation.api.problem import problem_responses
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.access import (
    ChangePolicyDep,
    ListAuditEventsDep,
    ListPolicyRulesDep,
)
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.schemas.access import (
    AuditEventOut,
    PolicyRuleBody,
    PolicyRuleList,
    PolicyRuleOut,
)
from app.presentation.api.v1.schemas.common import CursorPage, PlainText

router = APIRouter(prefix=f"{API_V1_PREFIX}/admin", tags=["access"])


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


@router.get(
    "/audit",
    responses=problem_responses(400, 401, 403, 422),
    summary="The audit trail, newest first",
)
async def list_audit_events(
    actor: CurrentUser,
    list_events: ListAuditEventsDep,
    actor_id: UUID | None = None,
    action: Annotated[
        str | None,
        Query(max_length=100, json_schema_extra={"pattern": UNTRIMMED_LINE_PATTERN}),
        PlainText,
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> CursorPage[AuditEventOut]:
    page = await list_events.execute(
        actor, AuditFilter(actor_id=actor_id, action=action), limit=limit, cursor=cursor
    )
    return CursorPage(
        items=[AuditEventOut.of(event) for event in page.items], next_cursor=page.next_cursor
    )
