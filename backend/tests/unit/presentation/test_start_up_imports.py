"""What an API process loads at start-up (issue 13: its memory): the libraries only some requests or
jobs need are imported on their first use, never by building the app and its container nor by
its start-up (on a migrated database).

Checked in a fresh interpreter (this one has long imported everything), with payments configured,
so that the Stripe gateway and webhook verifier are built too, and without REDIS_URL (the embedded
default). The probe imports the CLI first: `strata serve` runs the server in its process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.infrastructure.database import migrations

BACKEND_DIR = Path(__file__).resolve().parents[3]

# Each costs several MiB of resident memory once imported (measured: NumPy ~12, pypdf ~15,
# soundfile/soxr ~12 with NumPy, tokenizers ~6, zxcvbn ~12, the Stripe SDK ~7).
LOADED_ON_FIRST_USE = (
    "numpy",
    "pypdf",
    "soundfile",
    "soxr",
    "pocketsphinx",
    "tokenizers",
    "safetensors",
    "zxcvbn",
    "stripe",
    # What the start-up check needs not (alembic ~7, with mako and pygments ~11), and taskiq's
    # package, which imports aiohttp (~9): only migrating and the distributed job engine use them.
    "alembic",
    "mako",
    "taskiq",
    "taskiq_redis",
    "aiohttp",
    # The Redis client (~6 MiB) when REDIS_URL is not set (the embedded default): only the
    # distributed mode's clients, deny-list, event stream and readiness probe use it.
    "redis",
)

PROBE = """
import asyncio, json, sys

import app.presentation.cli  # `strata serve` runs the server in the CLI's process
from app.core.config import Settings
from app.presentation.api.v1.dependencies.payment import PAYMENT_GATEWAY
from app.presentation.container import Container
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet
from app.presentation.main import create_app


async def build_container() -> None:
    container = Container.build(Settings(), FeatureSet.load(ENABLED_FEATURES))
    try:
        gateway = type(container.get(PAYMENT_GATEWAY)).__name__
        assert gateway == "StripePaymentGateway", gateway  # payments are on: it was built
    finally:
        await container.close()


async def start_and_stop() -> None:
    # The app's whole lifespan on a migrated database: the check that it is at head, the access
    # policy, the embedded job engine and its sweeper.
    app = create_app()
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.5)  # the sweeper's first pass: periodic jobs made, sent and run


asyncio.run(build_container())
asyncio.run(start_and_stop())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_building_and_starting_the_app_leaves_heavy_libraries_unimported(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "REDIS_", "DATABASE_", "FIRST_ADMIN_", "SEED_"))
    }
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'start-up.db'}"
    migrations.upgrade(database_url)
    env.update(
        {
            "DATABASE_URL": database_url,
            "SEED_DEMO": "false",
            "VAR_DIR": str(tmp_path / "var"),
            "STRIPE_SECRET_KEY": "sk_test_start_up",
            "STRIPE_WEBHOOK_SECRET": "whsec_start_up",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
            "PYTHONPATH": str(BACKEND_DIR),
        }
    )
    # The first start makes the first admin (judging its password loads zxcvbn): what is checked
    # is a restart, as a deployment's every start after its first.
    first_start = run_probe(env, tmp_path)
    loaded = run_probe(env, tmp_path)
    assert "zxcvbn" in first_start  # the first admin was made then, not at the restart
    assert "app" in loaded  # the probe did build the app
    assert loaded.isdisjoint(LOADED_ON_FIRST_USE), sorted(loaded & set(LOADED_ON_FIRST_USE))


def run_probe(env: dict[str, str], cwd: Path) -> set[str]:
    """The top-level modules a fresh interpreter had loaded after the probe."""
    done = subprocess.run(  # noqa: S603 (this interpreter, on our own probe)
        [sys.executable, "-c", PROBE],
        cwd=cwd,  # no developer .env
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))
