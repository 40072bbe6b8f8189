from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.application.use_cases.auth.authenticate import Authenticate
from app.application.use_cases.auth.log_in import LogIn
from app.domain.entities.user import User
from app.domain.errors import AuthenticationError
from app.presentation.api.v1.dependencies.common import ContainerDep, ReadOnlyUnitOfWorkDep

# auto_error=False: a missing token becomes our problem+json 401, not FastAPI's plain one.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def get_log_in(uow: ReadOnlyUnitOfWorkDep, container: ContainerDep) -> LogIn:
    return LogIn(uow, container.password_hasher, container.access_tokens)


async def get_authenticate(uow: ReadOnlyUnitOfWorkDep, container: ContainerDep) -> Authenticate:
    return Authenticate(uow, container.access_tokens)


async def get_current_user(
    token: Annotated[str | None, Depends(bearer_scheme)],
    authenticate: Annotated[Authenticate, Depends(get_authenticate)],
) -> User:
    if not token:
        raise AuthenticationError()
    return await authenticate.execute(token)


async def get_admin_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    # Use cases check again; this only makes the router fail fast and document its 403.
    user.require_admin()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]
LogInDep = Annotated[LogIn, Depends(get_log_in)]
