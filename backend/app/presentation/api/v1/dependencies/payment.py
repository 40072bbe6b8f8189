from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.use_cases.payment.create_payment_intent import CreatePaymentIntent
from app.application.use_cases.payment.get_payment_intent import GetPaymentIntent
from app.application.use_cases.payment.handle_webhook import HandleWebhook
from app.application.use_cases.payment.list_payments import ListPayments
from app.presentation.api.v1.dependencies.access import AccessPolicyDep
from app.presentation.api.v1.dependencies.common import (
    ContainerDep,
    ReadOnlyUnitOfWorkDep,
    UnitOfWorkDep,
)


async def get_create_payment_intent(
    uow: UnitOfWorkDep, policy: AccessPolicyDep, container: ContainerDep
) -> CreatePaymentIntent:
    return CreatePaymentIntent(
        uow,
        policy,
        container.payment_gateway,
        container.idempotency_keys,
        container.secret_box,
        container.clock,
        default_currency=container.settings.stripe_default_currency,
    )


async def get_get_payment_intent(
    uow: UnitOfWorkDep, policy: AccessPolicyDep, container: ContainerDep
) -> GetPaymentIntent:
    return GetPaymentIntent(
        uow,
        policy,
        container.payment_gateway,
        container.event_publisher,
        container.secret_box,
        container.clock,
    )


async def get_list_payments(uow: ReadOnlyUnitOfWorkDep) -> ListPayments:
    return ListPayments(uow)


async def get_handle_webhook(uow: UnitOfWorkDep, container: ContainerDep) -> HandleWebhook:
    return HandleWebhook(
        uow, container.webhook_verifier, container.event_publisher, container.clock
    )


CreatePaymentIntentDep = Annotated[CreatePaymentIntent, Depends(get_create_payment_intent)]
GetPaymentIntentDep = Annotated[GetPaymentIntent, Depends(get_get_payment_intent)]
ListPaymentsDep = Annotated[ListPayments, Depends(get_list_payments)]
HandleWebhookDep = Annotated[HandleWebhook, Depends(get_handle_webhook)]
