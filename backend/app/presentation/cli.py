"""The `strata` command: serve, migrate, manage users, seed demo data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

import typer
import uvicorn

from app.application.interfaces.job import JobAdminUnitOfWork, JobFilter, JobUnitOfWork
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor, page_of
from app.application.use_cases.job.manage_jobs import CancelJob, RetryJob
from app.core.config import Settings
from app.domain.entities.job import JobNotFoundError, JobStatus
from app.domain.errors import CodedError
from app.infrastructure.database import migrations
from app.infrastructure.seed.demo_catalog import generate_products
from app.presentation import worker as worker_process
from app.presentation.api.v1.dependencies.product import PRODUCT_SETTINGS, seed_products
from app.presentation.api.v1.dependencies.user import ensure_admin
from app.presentation.api.v1.schemas.job import JobOut
from app.presentation.container import Container
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet
from app.presentation.http_server import HeaderLimits, http_protocol

cli = typer.Typer(help="Strata: run and manage the service.", no_args_is_help=True)
users_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
jobs_cli = typer.Typer(help="Look at background jobs and step in.", no_args_is_help=True)
cli.add_typer(jobs_cli, name="jobs")


@cli.command()
def serve(
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
) -> None:
    """Serve the API on HOST:PORT."""
    settings = Settings()
    uvicorn.run(
        "app.presentation.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        reload=reload,
        access_log=False,  # our middleware logs each request, with its request id
        log_config=None,
        proxy_headers=False,
        # httptools with the request head bounded (MAX_HEADER_*): 431 instead of buffering it all.
        http=http_protocol(HeaderLimits.from_settings(settings)),
    )


@cli.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=1_000, help="jobs run at once (FEATURES__JOB__CONCURRENCY)"),
    ] = None,
) -> None:
    """Run background jobs from Redis (REDIS_URL) until SIGTERM, then drain and exit 0."""
    settings = Settings()
    if concurrency is not None:
        job_settings = {**settings.features.get("job", {}), "concurrency": concurrency}
        settings = settings.model_copy(
            update={"features": {**settings.features, "job": job_settings}}
        )
    try:
        worker_process.main(settings, FeatureSet.load(ENABLED_FEATURES))
    except worker_process.WorkerNeedsRedisError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error


@cli.command()
def migrate(revision: Annotated[str, typer.Argument()] = "heads") -> None:
    """Migrate the database (DATABASE_URL) to REVISION (by default, the latest of every branch)."""
    settings = Settings()
    features = FeatureSet.load(ENABLED_FEATURES)
    migrations.upgrade(settings.database_url, revision, features.migration_locations)
    typer.echo(f"database migrated to {revision}")


@users_cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an admin account (nothing happens if the e-mail is taken)."""

    async def run(container: Container) -> None:
        result = await ensure_admin(container).execute(email, password)
        message = "created" if result.created else "already exists; nothing changed"
        typer.echo(f"admin {result.email} {message}")

    _run_with_container(run)


@cli.command("seed-demo")
def seed_demo(
    products: Annotated[int, typer.Option(min=1, max=5_000_000, help="how many")] = 1_000,
    seed: Annotated[int | None, typer.Option(help="random seed, for repeatable data")] = None,
) -> None:
    """Add a realistic generated catalog (for demos and benchmarks)."""

    # rich's progress bar (~2 MiB) only for this command, not in every `strata serve` (issue 13).
    from rich.progress import Progress  # noqa: PLC0415

    async def run(container: Container) -> None:
        generated = generate_products(
            products,
            categories=container.get(PRODUCT_SETTINGS).categories,
            now=container.clock.now(),
            seed=seed,
        )
        with Progress() as progress:
            task = progress.add_task("seeding products", total=products)
            seeded = await seed_products(container).execute(
                generated, on_batch=lambda n: progress.advance(task, n)
            )
        typer.echo(f"{seeded} products added")

    _run_with_container(run)


@jobs_cli.command("list")
def list_jobs(
    kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
    status: Annotated[JobStatus | None, typer.Option(help="only jobs in this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, typer.Option(help="the next page (printed after a page)")] = None,
) -> None:
    """Background jobs, newest first."""

    async def run(container: Container) -> None:
        async with container.read_unit_of_work(JobUnitOfWork) as uow:
            jobs = await uow.jobs.list_page(
                JobFilter(kind=kind, status=status), before=decode_cursor(cursor), limit=limit + 1
            )
        page = page_of(jobs, limit)
        for job in page.items:
            error = f"  {job.last_error}" if job.last_error else ""
            typer.echo(
                f"{job.id}  {job.kind:<32} {job.status.value:<9} "
                f"{job.attempts}/{job.max_attempts}  {job.created_at:%Y-%m-%d %H:%M:%S}{error}"
            )
        if page.next_cursor:
            typer.echo(f"next page: --cursor {page.next_cursor}")

    _run_with_container(run)


@jobs_cli.command("show")
def show_job(job_id: UUID) -> None:
    """One job, every field."""

    async def run(container: Container) -> None:
        async with container.read_unit_of_work(JobUnitOfWork) as uow:
            job = await uow.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError()
        typer.echo(JobOut.of(job).model_dump_json(indent=2))

    _run_with_container(run)


@jobs_cli.command("retry")
def retry_job(job_id: UUID) -> None:
    """Run a failed, dead or canceled job again, with fresh attempts."""

    async def run(container: Container) -> None:
        use_case = RetryJob(
            container.unit_of_work(JobAdminUnitOfWork),
            container.access_policy,
            container.clock,
            container.event_relay,
        )
        job = await use_case.as_operator(job_id)
        typer.echo(f"job {job.id} queued again")

    _run_with_container(run)


@jobs_cli.command("cancel")
def cancel_job(job_id: UUID) -> None:
    """Cancel a queued or failed job."""

    async def run(container: Container) -> None:
        use_case = CancelJob(
            container.unit_of_work(JobAdminUnitOfWork), container.access_policy, container.clock
        )
        job = await use_case.as_operator(job_id)
        typer.echo(f"job {job.id} canceled")

    _run_with_container(run)


def _run_with_container(action: Callable[[Container], Awaitable[None]]) -> None:
    async def main() -> None:
        container = Container.build(Settings(), FeatureSet.load(ENABLED_FEATURES))
        try:
            await action(container)
        finally:
            await container.close()

    try:
        asyncio.run(main())
    except CodedError as error:
        typer.echo(f"error: {error.code} {error.params}", err=True)
        raise typer.Exit(code=1) from error


def main() -> None:
    cli()
