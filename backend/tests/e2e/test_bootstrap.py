"""What a new user sees on the first start: an admin they can log in as, and a demo catalog."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.core.config import Settings
from app.infrastructure.database.migrations import DatabaseNotMigratedError
from tests.conftest import empty_all_tables
from tests.databases import fresh_database
from tests.e2e.conftest import login, make_settings, running_client

DEV_ADMIN = "admin@example.com"


def _development(database_url: str, var_dir: Path, **overrides: object) -> Settings:
    return make_settings(
        database_url,
        environment="development",
        var_dir=var_dir,
        first_admin_email=None,
        first_admin_password=None,
        **overrides,
    )


async def test_first_development_start_creates_an_admin_and_a_demo_catalog(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        async with running_client(_development(database_url, tmp_path)) as client:
            kept = tmp_path / "first-admin.txt"
            assert stat.S_IMODE(kept.stat().st_mode) == 0o600
            password = kept.read_text().split("password: ")[1].strip()
            assert password in capsys.readouterr().err
            headers = await login(client, DEV_ADMIN, password)
            me = await client.get("/api/v1/users/me", headers=headers)
            assert me.json()["role"] == "admin"
            page = await client.get("/api/v1/products", params={"limit": 100})
            assert len(page.json()["items"]) == 60
            recommended = await client.post(
                "/api/v1/products/recommendations", json={"categories": ["books"]}
            )
            assert recommended.json()["items"]

        # A second start changes nothing: same admin password, no second catalog.
        async with running_client(_development(database_url, tmp_path)) as client:
            assert kept.read_text().split("password: ")[1].strip() == password
            assert password not in capsys.readouterr().err
            page = await client.get("/api/v1/products", params={"limit": 100})
            assert len(page.json()["items"]) == 60
    finally:
        await empty_all_tables(database_url)


async def test_seed_demo_false_leaves_the_catalog_empty(database_url: str, tmp_path: Path) -> None:
    try:
        async with running_client(_development(database_url, tmp_path, seed_demo=False)) as client:
            assert (await client.get("/api/v1/products")).json()["items"] == []
    finally:
        await empty_all_tables(database_url)


async def test_development_keeps_its_generated_secret_key_across_restarts(
    database_url: str, tmp_path: Path
) -> None:
    try:
        async with running_client(_development(database_url, tmp_path, secret_key=None)) as client:
            password = (tmp_path / "first-admin.txt").read_text().split("password: ")[1].strip()
            headers = await login(client, DEV_ADMIN, password)
        async with running_client(_development(database_url, tmp_path, secret_key=None)) as client:
            assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    finally:
        await empty_all_tables(database_url)


async def test_production_without_a_configured_admin_creates_none(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        environment="production",
        secret_key="p" * 40,
        file_encryption_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        first_admin_email=None,
        first_admin_password=None,
        var_dir=tmp_path,
    )
    try:
        async with running_client(settings):
            assert not (tmp_path / "first-admin.txt").exists()
    finally:
        await empty_all_tables(database_url)


async def test_an_unmigrated_database_is_refused_at_start_up_with_the_fix(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        with pytest.raises(DatabaseNotMigratedError, match="run `strata migrate`"):
            async with running_client(make_settings(url)):
                pass  # never reached: the lifespan refuses to start


def _modes(*paths: Path) -> list[int]:
    return [stat.S_IMODE(path.stat().st_mode) for path in paths]


def _world_readable_folders(root: Path) -> tuple[Path, Path, Path]:
    """VAR_DIR, STORAGE_DIR and MAIL_DIR as an older version (or umask 022) left them: 755."""
    folders = (root / "var", root / "var" / "files", root / "var" / "mail")
    for folder in folders:
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
    return folders


async def test_start_up_makes_the_local_folders_owner_only(
    database_url: str, tmp_path: Path
) -> None:
    var_dir, storage_dir, mail_dir = _world_readable_folders(tmp_path)
    settings = make_settings(
        database_url, var_dir=var_dir, storage_dir=storage_dir, mail_dir=mail_dir
    )
    try:
        async with running_client(settings) as client:
            assert (await client.get("/health/live")).status_code == 200
            assert _modes(var_dir, storage_dir, mail_dir) == [0o700] * 3
    finally:
        await empty_all_tables(database_url)


async def test_start_up_makes_an_existing_sqlite_database_owner_only(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as url:
        database = Path(url.split(":///", 1)[1])
        companions = [Path(f"{database}{suffix}") for suffix in ("-wal", "-shm")]
        for path in (database, *companions):
            path.touch()
            path.chmod(0o644)  # as SQLite made them before

        async with running_client(make_settings(url)) as client:
            assert (await client.get("/health/ready")).status_code == 200
            # While it runs: SQLite removes the WAL and -shm files when the last connection closes.
            assert _modes(database, *companions) == [0o600] * 3
