from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.use_cases.user.change_user_access import ChangeUserAccess
from app.application.use_cases.user.list_users import ListUsers
from app.application.use_cases.user.register_user import RegisterUser
from app.application.use_cases.user.update_profile import UpdateProfile
from app.presentation.api.v1.dependencies.common import (
    ContainerDep,
    ReadOnlyUnitOfWorkDep,
    UnitOfWorkDep,
)


async def get_register_user(uow: UnitOfWorkDep, container: ContainerDep) -> RegisterUser:
    return RegisterUser(uow, container.password_hasher, container.password_policy, container.clock)


RegisterUserDep = Annotated[RegisterUser, Depends(get_register_user)]


async def get_update_profile(uow: UnitOfWorkDep, container: ContainerDep) -> UpdateProfile:
    return UpdateProfile(uow, container.clock)


async def get_list_users(uow: ReadOnlyUnitOfWorkDep) -> ListUsers:
    return ListUsers(uow)


async def get_change_user_access(uow: UnitOfWorkDep, container: ContainerDep) -> ChangeUserAccess:
    return ChangeUserAccess(uow, container.session_tokens, container.clock)


UpdateProfileDep = Annotated[UpdateProfile, Depends(get_update_profile)]
ListUsersDep = Annotated[ListUsers, Depends(get_list_users)]
ChangeUserAccessDep = Annotated[ChangeUserAccess, Depends(get_change_user_access)]
