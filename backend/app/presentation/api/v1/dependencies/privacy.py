"""Composition of the privacy feature: every registered feature's personal-data holder, and one
unit of work that exposes what each of them needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request

from app.application.interfaces.privacy import PersonalDataHolder, PrivacyUnitOfWork
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.application.use_cases.privacy.export_my_data import ExportMyData
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
from app.presentation.container import Container


def personal_data_holders(container: Container) -> list[PersonalDataHolder[Any]]:
    """In registration order: the export's sections come in it, erasure goes in reverse."""
    return [part.holder(container) for part in container.features.personal_data]


def _needs(holders: Sequence[PersonalDataHolder[Any]]) -> tuple[Any, ...]:
    return (PrivacyUnitOfWork, *(holder.unit_of_work for holder in holders))


async def get_export_my_data(request: Request) -> ExportMyData:
    container = container_of(request)
    holders = personal_data_holders(container)
    # The export promises one consistent picture: a single snapshot, not a read per statement.
    uow = container.snapshot_unit_of_work(*_needs(holders))
    return ExportMyData(uow, holders, container.clock)


async def get_erase_my_account(request: Request, background: BackgroundTasks) -> EraseMyAccount:
    container = container_of(request)
    holders = personal_data_holders(container)
    return EraseMyAccount(
        container.unit_of_work(*_needs(holders)),
        holders,
        container.password_hasher,
        container.second_factor,
        container.clock,
        after_response_relay(background, container),
    )


ExportMyDataDep = Annotated[ExportMyData, Depends(get_export_my_data)]
EraseMyAccountDep = Annotated[EraseMyAccount, Depends(get_erase_my_account)]
