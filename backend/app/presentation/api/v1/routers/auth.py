from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status

from app.application.use_cases.user.register_user import Registration
from app.presentation.api.problem import problem_responses
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.auth import LogInDep
from app.presentation.api.v1.dependencies.rate_limit import (
    LimitLoginAccount,
    LimitLoginIp,
    LimitRegisterIp,
)
from app.presentation.api.v1.dependencies.user import RegisterUserDep
from app.presentation.api.v1.schemas.user import TokenOut, UserOut, UserRegister

router = APIRouter(prefix=f"{API_V1_PREFIX}/auth", tags=["identity"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422, 429, 503),
    dependencies=[LimitRegisterIp],
    summary="Create an account (always with the `user` role)",
)
async def register(
    body: UserRegister, register: RegisterUserDep, request: Request, response: Response
) -> UserOut:
    user = await register.execute(
        Registration(email=body.email, password=body.password, full_name=body.full_name)
    )
    response.headers["Location"] = str(request.url_for("read_me").path)
    return UserOut.of(user)


@router.post(
    "/login",
    responses=problem_responses(401, 422, 429, 503),
    dependencies=[LimitLoginIp, LimitLoginAccount],
    summary="Exchange e-mail (as `username`) and password for an access token",
)
async def login(
    username: Annotated[str, Form(max_length=320, description="the account's e-mail address")],
    password: Annotated[str, Form(max_length=1024)],
    log_in: LogInDep,
) -> TokenOut:
    # The OAuth2 password form (what /docs' Authorize button sends), read field by field: a
    # class dependency such as OAuth2PasswordRequestForm would run in a worker thread.
    token = await log_in.execute(username, password)
    return TokenOut(access_token=token.token, expires_in=token.expires_in)
