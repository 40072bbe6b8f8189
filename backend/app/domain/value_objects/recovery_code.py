"""MFA recovery codes: 80 random bits each, shown once as `xxxx-xxxx-xxxx-xxxx`, stored hashed."""

from __future__ import annotations

import base64
import secrets

from app.domain.value_objects.opaque_token import hash_secret

RECOVERY_CODE_COUNT = 10
_CODE_BYTES = 10  # 80 bits: 16 base32 characters


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode("ascii").lower()
        codes.append("-".join(raw[index : index + 4] for index in range(0, 16, 4)))
    return codes


def normalize_recovery_code(code: str) -> str:
    """What the user typed, as it was issued: case, spaces and dashes do not matter."""
    compact = "".join(char for char in code.lower() if char.isalnum())
    return "-".join(compact[index : index + 4] for index in range(0, len(compact), 4))


def hash_recovery_code(code: str) -> str:
    return hash_secret(normalize_recovery_code(code))


def looks_like_recovery_code(code: str) -> bool:
    return len("".join(char for char in code if char.isalnum())) == 16
