"""TOTP (RFC 6238) with pyotp (`TotpAuthenticator` port): 30-second steps, 6 digits, SHA-1, as
every authenticator app expects."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

VALID_WINDOW_STEPS = 1  # the code of the step before and after also counts: clock drift


class PyotpAuthenticator:
    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends

    def provisioning_uri(self, secret: str, *, account: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=self._issuer)

    def matching_step(self, secret: str, code: str, *, at: datetime) -> int | None:
        code = "".join(code.split())  # apps show `123 456`; people type it so
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        current = totp.timecode(at)
        for step in range(current - VALID_WINDOW_STEPS, current + VALID_WINDOW_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None
