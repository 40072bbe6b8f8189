"""Composition of the user feature's use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from app.application.interfaces.session import SessionUnitOfWork
from app.application.interfaces.user import UserUnitOfWork
from app.application.use_cases.user.change_user_access import ChangeUserAccess
from app.application.use_cases.user.ensure_admin import EnsureAdmin
from app.application.use_cases.user.list_users import ListUsers
from app.application.use_cases.user.register_user import RegisterUser
from app.application.use_cases.user.update_profile import UpdateProfile
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
from app.presentation.container import Container


async def get_register_user(request: Request, background: BackgroundTasks) -> RegisterUser:
    container = container_of(request)
    return RegisterUser(
        container.unit_of_work(UserUnitOfWork),
        container.password_hasher,
        container.password_policy,
        container.clock,
        after_response_relay(background, container),
    )


async def get_update_profile(request: Request, background: BackgroundTasks) -> UpdateProfile:
    container = container_of(request)
    return UpdateProfile(
        container.unit_of_work(UserUnitOfWork),
        container.clock,
        after_response_relay(background, container),
    )


async def get_list_users(request: Request) -> ListUsers:
    container = container_of(request)
    return ListUsers(container.read_unit_of_work(UserUnitOfWork), container.access_policy)


async def get_change_user_access(request: Request, background: BackgroundTasks) -> ChangeUserAccess:
    container = container_of(request)
    return ChangeUserAccess(
        # Changing a user's access revokes their sessions: the session unit of work has both.
        container.unit_of_work(SessionUnitOfWork),
        container.access_policy,
        container.session_tokens,
        container.clock,
        after_response_relay(background, container),
    )


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
