"""The `strata` command, run as a user would, against a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.presentation.cli import cli
from tests.databases import fresh_database
from tests.e2e.conftest import login, make_settings, running_client

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "1024")
    monkeypatch.setenv("PASSWORD_HASH_ITERATIONS", "1")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read


async def test_migrate_create_admin_and_seed_demo(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: None
) -> None:
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        monkeypatch.setenv("DATABASE_URL", url)

        migrated = await _invoke(["migrate"])
        assert "migrated to head" in migrated.output

        created = await _invoke(
            [
                "users",
                "create-admin",
                "--email",
                "Boss@Example.com",
                "--password",
                "a sturdy admin passphrase",
            ]
        )
        assert "admin boss@example.com created" in created.output
        again = await _invoke(
            [
                "users",
                "create-admin",
                "--email",
                "boss@example.com",
                "--password",
                "another passphrase!",
            ]
        )
        assert "already exists" in again.output

        seeded = await _invoke(["seed-demo", "--products", "1500", "--seed", "7"])
        assert "1500 products added" in seeded.output

        async with running_client(make_settings(url, first_admin_email=None)) as client:
            headers = await login(client, "boss@example.com", "a sturdy admin passphrase")
            assert (await client.get("/api/v1/users/me", headers=headers)).json()["role"] == "admin"
            page = await client.get("/api/v1/products", params={"limit": 100})
            assert len(page.json()["items"]) == 100
            assert page.json()["next_cursor"]


async def test_create_admin_with_a_weak_password_fails_cleanly(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: None
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        result = await _invoke(
            ["users", "create-admin", "--email", "boss@example.com", "--password", "short"]
        )
    assert result.exit_code == 1
    assert "user.weak_password" in result.output


async def _invoke(args: list[str]) -> Result:
    # The commands run their own event loop (asyncio.run): give them a thread of their own.
    return await asyncio.to_thread(runner.invoke, cli, args, catch_exceptions=False)
