from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.application.use_cases.privacy.export_my_data import ExportMyData
from app.presentation.api.v1.dependencies.common import (
    ContainerDep,
    ReadOnlyUnitOfWorkDep,
    UnitOfWorkDep,
)


async def get_export_my_data(uow: ReadOnlyUnitOfWorkDep, container: ContainerDep) -> ExportMyData:
    return ExportMyData(uow, container.clock)


async def get_erase_my_account(uow: UnitOfWorkDep, container: ContainerDep) -> EraseMyAccount:
    return EraseMyAccount(
        uow,
        container.password_hasher,
        container.second_factor,
        container.file_storage,
        container.clock,
    )


ExportMyDataDep = Annotated[ExportMyData, Depends(get_export_my_data)]
EraseMyAccountDep = Annotated[EraseMyAccount, Depends(get_erase_my_account)]
