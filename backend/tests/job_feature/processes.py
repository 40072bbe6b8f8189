"""Entry points of the multi-process tests: `python -m tests.job_feature.processes api PORT` serves
the app with the probe feature; `... worker` runs a worker with it. Settings come from the
environment, as in production."""

from __future__ import annotations

import sys

import uvicorn

from app.core.config import Settings
from app.presentation.features.registry import FeatureSet
from app.presentation.main import create_app
from app.presentation.worker import main as run_worker
from tests.databases import registered_features
from tests.job_feature.feature import FEATURE


def features() -> FeatureSet:
    return registered_features().with_feature(FEATURE)


def main() -> None:
    role = sys.argv[1]
    if role == "worker":
        run_worker(Settings(), features())
    elif role == "api":
        app = create_app(Settings(), features())
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_config=None, access_log=False)
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()
