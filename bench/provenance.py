"""What a result was measured on: the machine and tool versions, and which application code ran."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from app.core.config import Settings
from bench.config import ROOT


@dataclass(frozen=True, slots=True)
class CodeState:
    """Which application code ran: the commit, uncommitted changes, and a hash of the sources, taken
    at the start and the end so that an edit during the run is noticed."""

    commit: str
    changed_files: tuple[str, ...]
    fingerprint: str

    @classmethod
    def now(cls) -> CodeState:
        return cls(_git_commit(), _git_changed_files(), source_fingerprint())

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "uncommitted_changes": list(self.changed_files),
            "source_fingerprint": self.fingerprint,
        }


def environment_info(wrk: str) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "uvicorn": version("uvicorn"),
        "fastapi": version("fastapi"),
        # What uvicorn's "auto" picks: uvloop and httptools when they are importable.
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
        "wrk": wrk,
    }


def setting_default(name: str) -> Any:
    """The application's own default for a setting (what a deployment gets when it sets nothing)."""
    return Settings.model_fields[name].default


def source_fingerprint() -> str:
    """A short hash of every application source file (backend/app, backend/alembic)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "backend").rglob("*.py")):
        if "tests" in path.relative_to(ROOT / "backend").parts:
            continue
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git_commit() -> str:
    return _git("rev-parse", "--short", "HEAD").strip() or "unknown"


def _git_changed_files() -> tuple[str, ...]:
    # Only what the server runs (backend/), not the benchmark's own files or its results.
    output = _git("status", "--porcelain", "--", "backend")
    return tuple(line[3:] for line in output.splitlines() if line.strip())


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    done = subprocess.run(
        [git, "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else ""
