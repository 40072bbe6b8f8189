"""GDPR access and erasure (API.md "Identity"): `/users/me/export` and `DELETE /users/me`.

The export's shape is the sum of what the registered features hold about a user, so its router is
built per app, from its features: a feature that stores personal data adds its section by
declaring it, and the OpenAPI schema names every section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import status
from pydantic import BaseModel, create_model

from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.privacy import EraseMyAccountDep, ExportMyDataDep
from app.presentation.api.v1.dependencies.rate_limit import LimitPasswordCheck
from app.presentation.api.v1.schemas.privacy import PERSONAL_DATA_EXPORT_DOC, AccountErasure
from app.presentation.features.feature import PersonalDataPart
from app.presentation.features.registry import FeatureSet

PREFIX = f"{API_V1_PREFIX}/users"
router = FeatureRouter(prefix=PREFIX, tags=["privacy"])


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 422, 429, 503),
    dependencies=[LimitPasswordCheck],
    summary="Erase the caller's account and personal data (GDPR erasure)",
    description="Needs the password (and a TOTP or recovery code when MFA is on), checked "
    "against the account's login limit. Sessions, resources and files are deleted; audit "
    "rows stay, with the caller anonymised.",
)
async def erase_me(
    body: AccountErasure, user: CurrentUser, erase: EraseMyAccountDep, context: RequestContextDep
) -> None:
    await erase.execute(user, body.password, body.code, context)


def build_export_router(features: FeatureSet) -> FeatureRouter:
    """The export route of an app: its response model has a member per registered section."""
    parts = features.personal_data
    export_router = FeatureRouter(prefix=PREFIX, tags=["privacy"])

    @export_router.get(
        "/me/export",
        response_model=_export_model(parts),
        responses=problem_responses(401),
        summary="Everything stored about the caller, as one JSON document (GDPR access)",
    )
    async def export_me(user: CurrentUser, export: ExportMyDataDep) -> Any:
        data = await export.execute(user)
        body: dict[str, object] = {"exported_at": data.exported_at}
        for part in parts:
            body.update(part.present(data.sections))
        return body

    return export_router


def _export_model(parts: tuple[PersonalDataPart, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {"exported_at": (datetime, ...)}
    for part in parts:
        fields.update({name: (schema, ...) for name, schema in part.sections.items()})
    return create_model("PersonalDataExport", __doc__=PERSONAL_DATA_EXPORT_DOC, **fields)
