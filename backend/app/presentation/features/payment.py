"""The payment feature: payment intents through Stripe, verified and de-duplicated webhooks."""

from datetime import timedelta

from app.application.interfaces.payment import (
    PAYMENT_OBJECT_TYPES,
    PAYMENT_POLICY_RULES,
    PaymentUnitOfWork,
)
from app.application.use_cases.payment.personal_data import PaymentPersonalData
from app.infrastructure.repositories.payment import (
    SqlAlchemyPaymentRepository,
    SqlAlchemyWebhookEventRepository,
)
from app.presentation.api.messages import payment as messages
from app.presentation.api.v1.dependencies import payment as dependencies
from app.presentation.api.v1.routers import payment as routers
from app.presentation.api.v1.schemas import payment as schemas
from app.presentation.features.feature import Feature, JobDefinition, PersonalDataPart

FEATURE = Feature(
    key="payment",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    unlimited_routers=(routers.webhook_router,),  # Stripe's: verified by signature instead
    repositories={
        "payments": SqlAlchemyPaymentRepository,
        "webhook_events": SqlAlchemyWebhookEventRepository,
    },
    units_of_work=(PaymentUnitOfWork,),
    object_types=PAYMENT_OBJECT_TYPES,
    policy_rules=PAYMENT_POLICY_RULES,
    providers=dependencies.PROVIDERS,
    metrics=dependencies.track_breaker,
    on_start=dependencies.record_payment_events,
    personal_data=PersonalDataPart(
        holder=lambda _container: PaymentPersonalData(),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
    settings=dependencies.PaymentSettings,
    jobs=(
        JobDefinition(
            name="payment.forget_webhook_payloads",
            handler=dependencies.forget_webhook_payloads,
            every=timedelta(hours=1),
        ),
    ),
)
