"""`make profile`: flame graphs of the server under one bench row's load, taken with py-spy.

For each database in BENCH_DATABASES: a fresh database, `strata migrate`, the demo catalog, then
`strata serve` exactly as `make bench` runs it (production settings, one worker). For each row named
in BENCH_PROFILE_ROWS (default: all of them) a warm-up with wrk, then wrk again while
`py-spy record` samples the server (every thread, native frames off) for the run's duration; the
flame graph goes to `bench/profiles/<database>-<row>.svg`, and the top functions by own samples
are printed. Read a graph from the widest frames at the top: they are where the samples were.

Knobs: BENCH_PROFILE_ROWS (comma-separated names from ROWS below), BENCH_DURATION (s, default
15), BENCH_WARMUP (s, default 3), BENCH_CONNECTIONS (default 32), BENCH_DATABASES. py-spy needs to
trace the server: run as root, or allow ptrace (`kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.config import (
    CATALOG_CACHE_OFF,
    CATALOG_CACHE_TTL_S,
    PAYMENT_INTENT_BODY,
    PRODUCTS,
    ROOT,
    VENV_BIN,
    WEBHOOK_PAYMENTS,
    BenchError,
    Config,
    log,
)
from bench.databases import check_postgres, database_app, seed
from bench.endpoints import CATALOG_READS, LOGIN, PAYMENT_INTENT, REFRESH, RESOURCE_GET, WEBHOOK
from bench.identity import REFRESH_SESSIONS_PER_CONNECTION, prepare_identity
from bench.measure import product_ids, script_env, warm_up
from bench.payments import events_needed, prepare_payments, write_webhook_events
from bench.servers import App, Server, stripe_fake
from bench.wrk import Load, ensure_wrk, finish_wrk, start_wrk

PROFILES_DIR = ROOT / "bench" / "profiles"
SUMMARY_HEADER = """# Where the server's samples were, by profile

Written by `make profile` from the collapsed stacks (`<database>-<row>.txt`) in this folder: each
sample counted once, under the file of its innermost frame (its own time). "other threads" are the
threads besides the event loop's (aiosqlite's connection threads, Argon2's), whose samples include
their waiting. See bench/README.md, "Profiles".

"""
SAMPLE_RATE_HZ = 250
TOP_FUNCTIONS = 25


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """A row ready to run: the endpoint as wrk sends it and the load with its scripts' inputs."""

    endpoint: object
    load: Load
    # The refresh row has no warm-up, as in `make bench`: it would spend the prepared refresh
    # tokens, and the profiled run would then present spent ones (reuse: 401, the error path).
    warm_up: bool = True


# What each row needs before wrk starts (a user, sessions, payments, signed events).
Preparer = Callable[[App, Server, Load, int], Prepared]


def _catalog(index: int) -> Preparer:
    def prepare(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
        return Prepared(CATALOG_READS[index], load)

    return prepare


def _login(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
    return Prepared(LOGIN, load)


def _resource(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
    fixture = prepare_identity(server.port, 1)
    endpoint = dataclasses.replace(
        RESOURCE_GET, path=RESOURCE_GET.path.replace("{id}", fixture.resource_id)
    )
    return Prepared(endpoint, load.with_script_env(BENCH_ACCESS_TOKEN=fixture.access_token))


def _refresh(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
    sessions = load.connections * REFRESH_SESSIONS_PER_CONNECTION + 1
    fixture = prepare_identity(server.port, sessions)
    tokens = ",".join(fixture.refresh_tokens)
    return Prepared(REFRESH, load.with_script_env(BENCH_REFRESH_TOKENS=tokens), warm_up=False)


def _intent(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
    fixture = prepare_payments(server.port, 1)
    return Prepared(
        PAYMENT_INTENT,
        load.with_script_env(
            BENCH_ACCESS_TOKEN=fixture.access_token, BENCH_BODY=PAYMENT_INTENT_BODY
        ),
    )


def _webhook(app: App, server: Server, load: Load, duration_s: int) -> Prepared:
    fixture = prepare_payments(server.port, WEBHOOK_PAYMENTS)
    path = app.workdir / f"profile-webhook-{os.urandom(4).hex()}.tsv"
    # Sized for the ceiling's rate: every id is sent once, warm-up and run alike.
    count = events_needed(20_000, duration_s)
    write_webhook_events(path, fixture.intents, count, app.stripe_webhook_secret)
    return Prepared(WEBHOOK, load.with_script_env(BENCH_WEBHOOK_EVENTS=str(path)))


# name: (catalog cache TTL the server runs with, how to prepare the row)
ROWS: dict[str, tuple[int, Preparer]] = {
    "product": (CATALOG_CACHE_TTL_S, _catalog(0)),
    "list": (CATALOG_CACHE_TTL_S, _catalog(1)),
    "recommendations": (CATALOG_CACHE_TTL_S, _catalog(2)),
    "product-uncached": (CATALOG_CACHE_OFF, _catalog(0)),
    "list-uncached": (CATALOG_CACHE_OFF, _catalog(1)),
    "recommendations-uncached": (CATALOG_CACHE_OFF, _catalog(2)),
    "resource": (CATALOG_CACHE_TTL_S, _resource),
    "refresh": (CATALOG_CACHE_TTL_S, _refresh),
    "intent": (CATALOG_CACHE_TTL_S, _intent),
    "webhook": (CATALOG_CACHE_TTL_S, _webhook),
    "login": (CATALOG_CACHE_TTL_S, _login),
}


def profile(config: Config, rows: list[str]) -> list[Path]:
    wrk = ensure_wrk()
    py_spy = _py_spy()
    if "postgres" in config.databases:
        check_postgres(config.postgres_url)
    PROFILES_DIR.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="strata-profile-") as temporary:
        workdir = Path(temporary)
        with stripe_fake(workdir) as stripe:
            for key in config.databases:
                with database_app(key, workdir, config, stripe) as app:
                    log(f"[{key}] migrate and seed")
                    app.strata("migrate")
                    seed(app, PRODUCTS, 1)
                    for ttl in sorted({ROWS[row][0] for row in rows}, reverse=True):
                        with app.serve(f"profile-{key}-{ttl}.log", catalog_cache_ttl_s=ttl) as srv:
                            load = Load(
                                wrk,
                                config.connections,
                                config.duration_s,
                                script_env(app, product_ids(srv)),
                            )
                            for row in rows:
                                if ROWS[row][0] == ttl:
                                    prepared = ROWS[row][1](app, srv, load, config.duration_s)
                                    out = PROFILES_DIR / f"{key}-{row}.svg"
                                    _record(py_spy, srv, prepared, config, out)
                                    written.append(out)
    return written


def _record(py_spy: str, server: Server, prepared: Prepared, config: Config, out: Path) -> None:
    endpoint = prepared.endpoint
    warmup_s = config.warmup_s if prepared.warm_up else 0
    log(f"  {out.stem}: {warmup_s} s warm-up, {config.duration_s} s profiled")
    if warmup_s:
        warm_up(server, prepared.load, warmup_s, endpoint)  # type: ignore[arg-type]
    raw = out.with_suffix(".txt")
    process = start_wrk(prepared.load, server.base_url, endpoint)  # type: ignore[arg-type]
    try:
        for output, form in ((out, "flamegraph"), (raw, "raw")):
            # py-spy writes one format per recording: the graph over the first half of the run,
            # the collapsed stacks (for the summary below, and for speedscope) over the second.
            subprocess.run(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--rate",
                    str(SAMPLE_RATE_HZ),
                    "--duration",
                    str(max(1, config.duration_s // 2 - 1)),
                    "--format",
                    form,
                    "--output",
                    str(output),
                    "--nonblocking",
                ],
                check=True,
                capture_output=True,
            )
    finally:
        result = finish_wrk(process, timeout_s=config.duration_s + 60)
    log(
        f"    {result.rps:,.1f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{result.errors} errors"
    )
    _print_top(raw)


def _samples(raw: Path) -> Iterator[tuple[str, int]]:
    """(stack, samples) from py-spy's collapsed stacks. A sample taken while the interpreter was
    changing a frame can carry garbage for a file name (once, a docstring with its newlines):
    what does not end in a count is skipped."""
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack, int(count_text)


def _print_top(raw: Path) -> None:
    """The functions with the most samples of their own (the leaf frame of each stack), and those
    with the most samples anywhere in the stack."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for stack, count in _samples(raw):
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    print(f"\n== {raw.stem}: {samples} samples; own time")
    for frame, count in own.most_common(TOP_FUNCTIONS):
        print(f"{count / samples:6.1%}  {frame}")
    print(f"== {raw.stem}: inclusive")
    for frame, count in total.most_common(TOP_FUNCTIONS * 2):
        print(f"{count / samples:6.1%}  {frame}")


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(found).exists():
        raise BenchError("py-spy is missing: `make install` installs it (the dev extra)")
    return found


def main() -> int:
    try:
        config = Config.from_env()
        names = os.environ.get("BENCH_PROFILE_ROWS", "").strip()
        rows = [name.strip() for name in names.split(",") if name.strip()] or list(ROWS)
        unknown = [row for row in rows if row not in ROWS]
        if unknown:
            raise BenchError(f"BENCH_PROFILE_ROWS: choose from {', '.join(ROWS)}")
        written = profile(config, rows)
    except BenchError as error:
        log(f"profile: error: {error}")
        return 1
    log("flame graphs: " + ", ".join(str(path.relative_to(ROOT)) for path in written))
    summary = PROFILES_DIR / "SUMMARY.md"
    summary.write_text(SUMMARY_HEADER + summarize())
    log(f"summary of every profile in the folder: {summary.relative_to(ROOT)}")
    return 0


# ---------------------------------------------------------------- the summary of all profiles

# Where a sample's own time is, by the file of its innermost frame; the first that matches wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting (event loop idle)", ("asyncio/runners.py", "selectors.py", "base_events.py:1")),
    ("uvicorn, HTTP parsing", ("uvicorn/", "httptools", "app/presentation/http_server.py")),
    ("FastAPI dependencies and parameters", ("fastapi/dependencies/", "fastapi/_compat")),
    ("Starlette / FastAPI routing and middleware", ("starlette/", "fastapi/")),
    ("pydantic", ("pydantic",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("database driver", ("aiosqlite/", "asyncpg/", "sqlite3")),
    ("Stripe SDK, HTTPX", ("stripe/", "httpx/", "httpcore/", "anyio/")),
    ("Casbin", ("casbin/", "simpleeval")),
    ("PyJWT", ("jwt/",)),
    ("asyncio, greenlet, contextlib", ("asyncio/", "greenlet", "contextlib.py")),
    ("Strata's own code", ("app/",)),
)


def summarize(directory: Path = PROFILES_DIR) -> str:
    """A Markdown table of every `<database>-<row>.txt` in `directory`: the share of the server
    process's samples by where their own time was. Threads other than the event loop's (aiosqlite's
    connection threads, the Argon2 threads) are one column: their samples include waiting."""
    rows = []
    for path in sorted(directory.glob("*.txt")):
        shares = _shares(path)
        rows.append(
            f"| {path.stem} | "
            + " | ".join(f"{shares.get(name, 0.0):.0%}" for name, _ in CATEGORIES)
            + f" | {shares.get('other', 0.0):.0%} | {shares.get('threads', 0.0):.0%} |"
        )
    header = (
        "| profile | "
        + " | ".join(name for name, _ in CATEGORIES)
        + " | other | other threads |\n|---|"
        + "---:|" * (len(CATEGORIES) + 2)
    )
    return header + "\n" + "\n".join(rows) + "\n"


def _shares(raw: Path) -> dict[str, float]:
    counts: collections.Counter[str] = collections.Counter()
    for stack, count in _samples(raw):
        frames = stack.split(";")
        if "threading.py" in frames[0]:
            counts["threads"] += count
            continue
        leaf = frames[-1]
        category = next(
            (name for name, needles in CATEGORIES if any(n in leaf for n in needles)), "other"
        )
        counts[category] += count
    total = sum(counts.values()) or 1
    return {name: count / total for name, count in counts.items()}


if __name__ == "__main__":
    sys.exit(main())
