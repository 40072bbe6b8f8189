"""Composition of the user feature's use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.session import SessionUnitOfWork
from app.application.interfaces.user import UserUnitOfWork
from app.application.use_cases.user.change_user_access import ChangeUserAccess
from app.application.use_cases.user.ensure_admin import EnsureAdmin
from app.application.use_cases.user.list_users import ListUsers
from app.application.use_cases.user.register_user import RegisterUser
from app.application.use_cases.user.update_profile import UpdateProfile
from app.presentation.api.v1.dependencies.common import (
    AccessPolicyDep,
    AfterResponseRelayDep,
    ContainerDep,
    read_unit_of_work,
    unit_of_work,
)
from app.presentation.container import Container

UserUow = Annotated[UserUnitOfWork, Depends(unit_of_work(UserUnitOfWork))]
ReadUserUow = Annotated[UserUnitOfWork, Depends(read_unit_of_work(UserUnitOfWork))]
# Changing a user's access revokes their sessions.
UserAndSessionsUow = Annotated[SessionUnitOfWork, Depends(unit_of_work(SessionUnitOfWork))]


async def get_register_user(
    uow: UserUow, container: ContainerDep, events: AfterResponseRelayDep
) -> RegisterUser:
    return RegisterUser(
        uow, container.password_hasher, container.password_policy, container.clock, events
    )


async def get_update_profile(
    uow: UserUow, container: ContainerDep, events: AfterResponseRelayDep
) -> UpdateProfile:
    return UpdateProfile(uow, container.clock, events)


async def get_list_users(uow: ReadUserUow, policy: AccessPolicyDep) -> ListUsers:
    return ListUsers(uow, policy)


async def get_change_user_access(
    uow: UserAndSessionsUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> ChangeUserAccess:
    return ChangeUserAccess(uow, policy, container.session_tokens, container.clock, events)


def ensure_admin(container: Container) -> EnsureAdmin:
    """For start-up and `strata create-admin`, outside any request."""
    return EnsureAdmin(
        container.unit_of_work(UserUnitOfWork),
        container.password_hasher,
        container.password_policy,
        container.clock,
    )


RegisterUserDep = Annotated[RegisterUser, Depends(get_register_user)]
UpdateProfileDep = Annotated[UpdateProfile, Depends(get_update_profile)]
ListUsersDep = Annotated[ListUsers, Depends(get_list_users)]
ChangeUserAccessDep = Annotated[ChangeUserAccess, Depends(get_change_user_access)]
