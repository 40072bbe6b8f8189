"""Platform endpoints: liveness, readiness and metrics (public, outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from app.presentation.api.problem import problem_response, problem_responses
from app.presentation.api.v1.dependencies.common import ContainerDep

router = APIRouter(tags=["platform"])

READINESS_RETRY_AFTER_SECONDS = "5"


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/health/live", summary="200 while the process runs")
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses=problem_responses(503),
    summary="200 when every dependency answers; 503 naming those that do not",
)
async def ready(container: ContainerDep, request: Request) -> Readiness | Response:
    results = await container.readiness.run()
    failing = [result.name for result in results if not result.ok]
    if failing:
        return problem_response(
            request.headers,
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
    return Readiness(status="ok", checks={result.name: "ok" for result in results})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
