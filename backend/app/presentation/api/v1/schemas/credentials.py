from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.domain.value_objects.email import EMAIL_MAX_LENGTH
from app.presentation.api.v1.schemas.common import NewPassword

# Passwords are exactly what was typed: never trimmed (RequestBody would), never truncated.
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]
Code = Annotated[StrictStr, Field(min_length=6, max_length=32)]
Token = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForgotPasswordIn(_Body):
    # Not `format: email`: a malformed address is answered 202 like any other, so that the answer
    # never tells anything about the address.
    email: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=EMAIL_MAX_LENGTH,
            description="Any address; one that is malformed or unknown is answered 202 too.",
        ),
    ]


class ResetPasswordIn(_Body):
    token: Token
    new_password: NewPassword


class ChangePasswordIn(_Body):
    current_password: Password
    new_password: NewPassword
    code: Code | None = Field(
        default=None, description="a TOTP or recovery code; required with MFA"
    )


class VerifyEmailIn(_Body):
    token: Token


class MfaSetupOut(BaseModel):
    secret: str = Field(description="base32; enter it in an authenticator app, or scan the URI")
    otpauth_uri: str


class MfaCodeIn(_Body):
    code: Code


class MfaDisableIn(_Body):
    code: Code
    password: Password


class MfaVerifyIn(_Body):
    mfa_token: Annotated[StrictStr, Field(min_length=1, max_length=2048)]
    code: Code


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="shown once; each works once instead of a code")
