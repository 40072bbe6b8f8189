from __future__ import annotations

from fastapi import APIRouter

from app.presentation.api.problem import problem_responses
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.auth import CurrentUser
from app.presentation.api.v1.schemas.user import UserOut

router = APIRouter(prefix=f"{API_V1_PREFIX}/users", tags=["identity"])


@router.get("/me", responses=problem_responses(401), summary="The caller's account")
async def read_me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)
