"""The credentials feature: passwords, e-mail verification and reset links, TOTP MFA."""

from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.infrastructure.repositories.credentials import (
    SqlAlchemyOneTimeTokenRepository,
    SqlAlchemyRecoveryCodeRepository,
)
from app.presentation.api.messages import credentials as messages
from app.presentation.api.v1.dependencies import credentials as dependencies
from app.presentation.api.v1.routers import credentials as routers
from app.presentation.features.feature import Feature

FEATURE = Feature(
    key="credentials",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    repositories={
        "one_time_tokens": SqlAlchemyOneTimeTokenRepository,
        "recovery_codes": SqlAlchemyRecoveryCodeRepository,
    },
    units_of_work=(CredentialsUnitOfWork,),
    providers=dependencies.PROVIDERS,
    on_start=dependencies.mail_verification_links,
)
