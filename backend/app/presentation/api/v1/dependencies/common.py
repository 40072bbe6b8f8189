"""Dependencies every router shares: the container, the session, the unit of work."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.application.interfaces.unit_of_work import UnitOfWork
from app.core.db import get_db
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.presentation.api.v1.dependencies.container import Container


def get_container(request: Request) -> Container:
    return cast(Container, request.app.state.container)


def get_unit_of_work(session: Annotated[AsyncSession, Depends(get_db)]) -> UnitOfWork:
    return SqlAlchemyUnitOfWork(session)


ContainerDep = Annotated[Container, Depends(get_container)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
