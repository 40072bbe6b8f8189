"""The `strata` command: serve, migrate, manage users, seed demo data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
import uvicorn
from rich.progress import Progress

from app.core.config import Settings
from app.domain.errors import CodedError
from app.infrastructure.database import migrations
from app.infrastructure.seed.demo_catalog import generate_products
from app.presentation.api.v1.dependencies.product import PRODUCT_SETTINGS, seed_products
from app.presentation.api.v1.dependencies.user import ensure_admin
from app.presentation.container import Container
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet
from app.presentation.http_server import HeaderLimits, http_protocol

cli = typer.Typer(help="Strata: run and manage the service.", no_args_is_help=True)
users_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")


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
