from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.use_cases.user.register_user import RegisterUser
from app.presentation.api.v1.dependencies.common import ContainerDep, UnitOfWorkDep


async def get_register_user(uow: UnitOfWorkDep, container: ContainerDep) -> RegisterUser:
    return RegisterUser(uow, container.password_hasher, container.clock)


RegisterUserDep = Annotated[RegisterUser, Depends(get_register_user)]
