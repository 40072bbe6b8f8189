from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class AccountErasure(BaseModel):
    # Not RequestBody: that trims strings, and a password is exactly what was typed.
    model_config = ConfigDict(extra="forbid")

    password: Annotated[StrictStr, Field(min_length=1, max_length=1024)]
    code: Annotated[StrictStr, Field(min_length=6, max_length=32)] | None = Field(
        default=None, description="a TOTP or recovery code; required when MFA is on"
    )


PERSONAL_DATA_EXPORT_DOC = """Everything Strata stores about you. Secrets (password hash, TOTP seed,
token hashes) are described, never exported: they are ours to verify you with, and useless to anyone
else."""
