from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.application.interfaces.security import AccessTokenClaims
from app.application.interfaces.session import SessionUnitOfWork
from app.application.use_cases.session.authenticate import Authenticate
from app.application.use_cases.session.log_in import LogIn
from app.domain.entities.user import User
from app.domain.errors import AuthenticationError
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of

# auto_error=False: a missing token becomes our problem+json 401, not FastAPI's plain one.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user and the claims of the access token they presented."""

    user: User
    claims: AccessTokenClaims


async def get_log_in(request: Request, background: BackgroundTasks) -> LogIn:
    container = container_of(request)
    return LogIn(
        container.unit_of_work(SessionUnitOfWork),
        container.password_hasher,
        container.session_tokens,
        container.mfa_tokens,
        container.clock,
        after_response_relay(background, container),
    )


async def get_caller(
    request: Request, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Caller:
    if not token:
        raise AuthenticationError()
    container = container_of(request)
    authenticate = Authenticate(
        container.read_unit_of_work(SessionUnitOfWork),
        container.access_tokens,
        container.token_deny_list,
        container.clock,
    )
    user, claims = await authenticate.execute_with_claims(token)
    return Caller(user=user, claims=claims)


async def get_current_user(caller: Annotated[Caller, Depends(get_caller)]) -> User:
    return caller.user


CallerDep = Annotated[Caller, Depends(get_caller)]
CurrentUser = Annotated[User, Depends(get_current_user)]
LogInDep = Annotated[LogIn, Depends(get_log_in)]
