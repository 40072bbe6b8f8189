"""The audit trail (API.md "Access"): who did what, when, from where; administrators only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from app.application.interfaces.audit import AuditFilter
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.domain.value_objects.text import UNTRIMMED_LINE_PATTERN
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.audit import ListAuditEventsDep
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.schemas.audit import AuditEventOut
from app.presentation.api.v1.schemas.common import CursorPage, PlainText

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/admin", tags=["audit"])


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
