"""Platform endpoints, outside /api/v1: liveness and readiness (public) and metrics (not public).

/metrics counts failed logins, MFA codes and refreshes, which is nobody else's business: with
METRICS_TOKEN set it wants `Authorization: Bearer <METRICS_TOKEN>` from everyone (401 otherwise);
unset, only a loopback client may read it (403 otherwise). The client is the address the
TRUSTED_PROXIES rule resolves, so a reverse proxy on the same machine does not make its clients
loopback, and a client's own X-Forwarded-For is not believed.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from app.domain.entities.session import InvalidTokenError
from app.domain.errors import AuthenticationError, PermissionDeniedError
from app.presentation.api.client_ip import client_ip
from app.presentation.api.openapi import NO_DATABASE
from app.presentation.api.problem import problem_response, problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1.dependencies.common import ContainerDep
from app.presentation.api.v1.dependencies.health import READINESS

router = FeatureRouter(tags=["health"])

READINESS_RETRY_AFTER_SECONDS = "5"


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/health/live", summary="200 while the process runs", openapi_extra=NO_DATABASE)
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses=problem_responses(503),
    summary="200 when every dependency answers; 503 naming those that do not",
)
async def ready(container: ContainerDep, request: Request) -> Readiness | Response:
    results = await container.get(READINESS).run()
    failing = [result.name for result in results if not result.ok]
    if failing:
        return problem_response(
            request.scope,
            status=503,
            code="service_unavailable",
            instance=request.url.path,
            errors=[
                {"field": r.name, "message": r.error or "unavailable", "type": "dependency"}
                for r in results
                if not r.ok
            ],
            headers={"Retry-After": READINESS_RETRY_AFTER_SECONDS},
        )
    return Readiness(status="ok", checks={result.name: result.detail or "ok" for result in results})


@router.get(
    "/metrics",
    summary="Prometheus metrics: Bearer METRICS_TOKEN, or without one a loopback client",
    openapi_extra=NO_DATABASE,
    response_class=Response,
    responses=problem_responses(401, 403),
)
async def metrics(container: ContainerDep, request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None and token.get_secret_value():
        _check_bearer(request.headers.get("authorization"), token.get_secret_value())
    elif not _is_loopback(client_ip(request, container.trusted_proxies)):
        raise PermissionDeniedError()
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _check_bearer(authorization: str | None, expected: str) -> None:
    if not authorization:
        raise AuthenticationError()
    scheme, _, given = authorization.partition(" ")
    # Compared in constant time, as bytes: a wrong token says nothing of how much of it was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
    ):
        raise InvalidTokenError()


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # not an IP peer (a Unix socket): nothing says it is this machine
