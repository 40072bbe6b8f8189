"""Payments (API.md "Payments"): intents with Stripe, the caller's payments, Stripe's webhook."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Header, Query, Request, Response, status

from app.application.idempotency import IdempotencyKeyReusedError
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import (
    IDEMPOTENCY_KEY_HEADER,
    IdempotencyKey,
    RequestContextDep,
)
from app.presentation.api.v1.dependencies.payment import (
    CreatePaymentIntentDep,
    GetPaymentIntentDep,
    HandleWebhookDep,
    ListPaymentsDep,
)
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.payment import (
    PaymentIntentCreate,
    PaymentIntentOut,
    PaymentOut,
    WebhookReceived,
)

PREFIX = f"{API_V1_PREFIX}/payments"
router = FeatureRouter(prefix=PREFIX, tags=["payment"])
# Stripe's webhook: public and not rate limited per client address (Stripe sends from a few
# addresses, in bursts when it replays a backlog); the signature check refuses anything else.
webhook_router = FeatureRouter(prefix=PREFIX, tags=["payment"])

# The extension members some payment problems carry (their errors' public params).
_NOT_CONFIGURED_MEMBERS = {503: {"setting": "the payment setting this server lacks"}}
_PROVIDER_PROBLEM_MEMBERS = {
    400: {"provider_code": "why the payment provider refused the request"},
    402: {"decline_code": "why the card was declined, as the provider put it"},
    **_NOT_CONFIGURED_MEMBERS,
}


@router.post(
    "/intents",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        400, 401, 402, 403, 409, 422, 502, 503, 504, members=_PROVIDER_PROBLEM_MEMBERS
    ),
    summary="Create a payment intent (Idempotency-Key)",
)
async def create_payment_intent(
    body: PaymentIntentCreate,
    user: CurrentUser,
    create: CreatePaymentIntentDep,
    context: RequestContextDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PaymentIntentOut:
    try:
        created = await create.execute(
            user, body.to_request(), idempotency_key=idempotency_key, context=context
        )
    except IdempotencyKeyReusedError as exc:
        # The problem names the key as clients send it: by its header.
        raise IdempotencyKeyReusedError(field=IDEMPOTENCY_KEY_HEADER) from exc
    response.headers["Location"] = f"{PREFIX}/intents/{created.payment.id}"
    return PaymentIntentOut.of(created)


@router.get(
    "/intents/{payment_id}",
    responses=problem_responses(401, 404, 422, 503, members=_NOT_CONFIGURED_MEMBERS),
    summary="The caller's payment intent, its status refreshed from Stripe",
)
async def get_payment_intent(
    payment_id: UUID, user: CurrentUser, get: GetPaymentIntentDep, response: Response
) -> PaymentIntentOut:
    response.headers["Cache-Control"] = "no-store"  # it carries the client secret
    return PaymentIntentOut.of(await get.execute(user, payment_id))


@router.get(
    "",
    responses=problem_responses(400, 401, 422),
    summary="The caller's payments, oldest first",
)
async def list_payments(
    user: CurrentUser,
    list_payments: ListPaymentsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> CursorPage[PaymentOut]:
    page = await list_payments.execute(user, limit=limit, cursor=cursor)
    return CursorPage(items=[PaymentOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@webhook_router.post(
    "/webhook",
    responses=problem_responses(400, 503, members=_NOT_CONFIGURED_MEMBERS),
    summary="Stripe's webhook (public; verified by its Stripe-Signature header)",
)
async def receive_webhook(
    request: Request,
    handle: HandleWebhookDep,
    stripe_signature: Annotated[
        str | None, Header(alias="Stripe-Signature", max_length=2048)
    ] = None,
) -> WebhookReceived:
    # Stripe sends one line; of several, which is Stripe's is not ours to guess (a proxy or a
    # framework might read another one than we do): refused as unsigned.
    if len(request.headers.getlist("stripe-signature")) > 1:
        stripe_signature = None
    # The raw bytes: the signature covers the body exactly as sent, so nothing may parse it first.
    await handle.execute(await request.body(), stripe_signature)
    return WebhookReceived()
