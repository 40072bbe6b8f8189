"""Passwords, e-mail verification and MFA (API.md "Identity")."""

from __future__ import annotations

from fastapi import BackgroundTasks, status

from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CallerDep, CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.credentials import (
    ChangePasswordDep,
    CompleteMfaLoginDep,
    DisableMfaDep,
    EnableMfaDep,
    RequestPasswordResetDep,
    ResetPasswordDep,
    SetUpMfaDep,
    VerifyEmailDep,
)
from app.presentation.api.v1.dependencies.rate_limit import LimitForgotIp, LimitPasswordCheck
from app.presentation.api.v1.schemas.common import TokenPairOut
from app.presentation.api.v1.schemas.credentials import (
    ChangePasswordIn,
    ForgotPasswordIn,
    MfaCodeIn,
    MfaDisableIn,
    MfaSetupOut,
    MfaVerifyIn,
    RecoveryCodesOut,
    ResetPasswordIn,
    VerifyEmailIn,
)

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/auth", tags=["credentials"])


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(422, 429, 503),
    dependencies=[LimitForgotIp],
    summary="Mail a password-reset link (202 whether or not the account exists)",
)
async def forgot_password(
    body: ForgotPasswordIn, request_reset: RequestPasswordResetDep, background: BackgroundTasks
) -> None:
    # All the work happens after the answer: its content and timing are the same for any e-mail.
    background.add_task(request_reset.execute, body.email)


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
    summary="Set a new password with a reset token; every session is revoked",
)
async def reset_password(
    body: ResetPasswordIn, reset: ResetPasswordDep, context: RequestContextDep
) -> None:
    await reset.execute(body.token, body.new_password, context)


@router.post(
    "/password/change",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 422, 429, 503),
    dependencies=[LimitPasswordCheck],
    summary="Change the password; every other session is revoked",
)
async def change_password(
    body: ChangePasswordIn, caller: CallerDep, change: ChangePasswordDep, context: RequestContextDep
) -> None:
    await change.execute(
        caller.user,
        current_password=body.current_password,
        new_password=body.new_password,
        code=body.code,
        current_session_id=caller.claims.session_id,
        context=context,
    )


@router.post(
    "/email/verify",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
    summary="Confirm an e-mail address with the token mailed at registration",
)
async def verify_email(body: VerifyEmailIn, verify: VerifyEmailDep) -> None:
    await verify.execute(body.token)


@router.post(
    "/mfa/setup",
    responses=problem_responses(401, 409),
    summary="Start TOTP set-up: a new secret (MFA stays off until enabled with a code)",
)
async def set_up_mfa(user: CurrentUser, set_up: SetUpMfaDep) -> MfaSetupOut:
    setup = await set_up.execute(user)
    return MfaSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri)


@router.post(
    "/mfa/enable",
    responses=problem_responses(401, 403, 409, 422, 429, 503),
    dependencies=[LimitPasswordCheck],
    summary="Turn MFA on with a code from the set-up secret; answers 10 one-time recovery codes",
)
async def enable_mfa(
    body: MfaCodeIn, user: CurrentUser, enable: EnableMfaDep, context: RequestContextDep
) -> RecoveryCodesOut:
    return RecoveryCodesOut(recovery_codes=await enable.execute(user, body.code, context))


@router.post(
    "/mfa/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 409, 422, 429, 503),
    dependencies=[LimitPasswordCheck],
    summary="Turn MFA off (password and a current code)",
)
async def disable_mfa(
    body: MfaDisableIn, user: CurrentUser, disable: DisableMfaDep, context: RequestContextDep
) -> None:
    await disable.execute(user, password=body.password, code=body.code, context=context)


@router.post(
    "/mfa/verify",
    responses=problem_responses(401, 422, 429, 503),
    summary="Second step of a login with MFA: the mfa_token and a TOTP or recovery code",
    description="Codes tried count per account, whatever `mfa_token` carries them, against "
    "both the MFA limit and the account's login limit.",
)
async def verify_mfa(
    body: MfaVerifyIn, complete: CompleteMfaLoginDep, context: RequestContextDep
) -> TokenPairOut:
    return TokenPairOut.of(await complete.execute(body.mfa_token, body.code, context))
