"""The report of a whole run: its JSON (every number, the settings, the machine), its Markdown tables
(printed, and written beside the JSON) and where both are written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.config import (
    BIG_PRODUCTS,
    CATALOG_CACHE_OFF,
    CATALOG_CACHE_TTL_S,
    HEALTH_CONNECTIONS,
    PAYMENT_INTENT_BODY,
    PRODUCTS,
    RESULTS_DIR,
    WEBHOOK_PAYMENTS,
    WRK_TIMEOUT,
    Config,
)
from bench.endpoints import CEILING
from bench.hashes import BareHashes
from bench.jobs import JobsReport, render_jobs
from bench.pipelines import PipelinesReport, render_pipelines
from bench.provenance import CodeState, environment_info, setting_default
from bench.records import (
    CacheLookups,
    DatabaseReport,
    Memory,
    Row,
    format_ms,
    format_rps,
    memory_check,
)
from bench.wrk import WrkResult


@dataclass(slots=True)
class Run:
    config: Config
    started_at: datetime
    wrk_version: str
    code_at_start: CodeState
    ceiling: WrkResult | None = None
    databases: list[DatabaseReport] = field(default_factory=list)
    jobs: list[JobsReport] = field(default_factory=list)
    pipelines: PipelinesReport | None = None
    finished_at: datetime | None = None
    code_at_end: CodeState | None = None

    @property
    def code_changed(self) -> bool:
        end = self.code_at_end
        return end is not None and end.fingerprint != self.code_at_start.fingerprint

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "environment": environment_info(self.wrk_version),
            "code_at_start": self.code_at_start.to_json(),
            "code_at_end": self.code_at_end.to_json() if self.code_at_end else None,
            "code_changed_during_run": self.code_changed,
            "config": {
                "duration_s": self.config.duration_s,
                "warmup_s": self.config.warmup_s,
                "connections": self.config.connections,
                "low_connections": self.config.low_connections,
                "low_connections_duration_s": self.config.low_duration_s,
                "wrk_threads": 1,
                "products": PRODUCTS,
                "big_products": BIG_PRODUCTS,
                "login_in_flight": list(self.config.login_in_flight),
                "health_connections": HEALTH_CONNECTIONS,
                "password_hash_memory_kib": setting_default("password_hash_memory_kib"),
                "password_hash_iterations": setting_default("password_hash_iterations"),
                "product_cache_ttl_seconds": CATALOG_CACHE_TTL_S,
                "uncached_pass_product_cache_ttl_seconds": CATALOG_CACHE_OFF,
                "payment_intent_body": PAYMENT_INTENT_BODY,
                "webhook_payments": WEBHOOK_PAYMENTS,
                "pipelines": self.config.pipelines,
                "only": self.config.only,
            },
            "ceiling": self.ceiling.to_json() if self.ceiling else None,
            "databases": {report.key: report.to_json() for report in self.databases},
            "jobs": [report.to_json() for report in self.jobs],
            "pipelines": self.pipelines.to_json() if self.pipelines else None,
            "targets": [
                {"database": report.name, "what": what, **check.to_json()}
                for report in self.databases
                for what, check in report.checks()
            ],
        }


def write_results(run: Run) -> Path:
    """bench/results/<UTC start>.json and .md, and latest.md; the common stem. A run of one
    pass (BENCH_ONLY) is <UTC start>-<pass>.json and .md, and leaves latest.md to full runs."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = f"-{run.config.only}" if run.config.only else ""
    stem = RESULTS_DIR / f"{run.started_at:%Y%m%dT%H%M%SZ}{suffix}"
    markdown = render_markdown(run)
    _write_atomic(stem.with_suffix(".json"), json.dumps(run.to_json(), indent=2) + "\n")
    _write_atomic(stem.with_suffix(".md"), markdown)
    if not run.config.only:
        _write_atomic(RESULTS_DIR / "latest.md", markdown)
    return stem


def _write_atomic(path: Path, text: str) -> None:
    # A *.tmp beside the target (ignored by git), renamed: an interrupted write leaves no half file.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def render_markdown(run: Run) -> str:
    if run.config.only:
        return _render_single_pass(run)
    config = run.config
    info = environment_info(run.wrk_version)
    lines = [
        f"# Strata benchmark, {run.started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Load: {info['wrk']}, 1 thread, {config.connections} connections, "
        f"{config.warmup_s} s warm-up then {config.duration_s} s per endpoint; timeouts {WRK_TIMEOUT}."
        + _render_low_load(config),
        f"- Server: `strata serve` (1 uvicorn worker, {info['loop']} + {info['http']}, no access "
        "log, ENVIRONMENT=production, LOG_LEVEL=WARNING); the ceiling is a bare FastAPI app "
        "(bench/baseline_app.py) under the same uvicorn settings.",
        _render_cache_setting(),
        "- Payments: Stripe is a local stand-in (backend/tests/stripe_fake.py, a process of its "
        "own on the same machine), so the payment rows include its HTTP round trip but no "
        "network; every intent request has a new Idempotency-Key (a new payment, a call to "
        f"Stripe); the webhook events are signed at run time and are about {WEBHOOK_PAYMENTS} "
        "payments made beforehand (each id sent once, then one event again and again).",
        f"- Data: {PRODUCTS:,} products (`strata seed-demo --seed 1`); Argon2id at "
        f"{setting_default('password_hash_memory_kib')} KiB, "
        f"{setting_default('password_hash_iterations')} passes (the OWASP minimum, the default).",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), shared by server and load "
        f"generator; Python {info['python']}, uvicorn {info['uvicorn']}, FastAPI {info['fastapi']}.",
        _render_code(run),
        "",
    ]
    lines += _render_code_changed(run)
    if run.ceiling:
        lines.append(
            f"Ceiling, {CEILING.label}: **{format_rps(run.ceiling.rps)} req/s**, p50 "
            f"{format_ms(run.ceiling.p50_ms)} ms, p99 {format_ms(run.ceiling.p99_ms)} ms."
        )
        lines.append("")
    for report in run.databases:
        lines += _render_database(report, run.ceiling)
    lines += render_jobs(run.jobs)
    lines += render_pipelines(run.pipelines)
    lines += _render_targets(run.databases)
    return "\n".join(lines) + "\n"


def _render_single_pass(run: Run) -> str:
    info = environment_info(run.wrk_version)
    lines = [
        f"# Strata benchmark, {run.config.only} pass only (BENCH_ONLY), "
        f"{run.started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}); Python {info['python']}.",
        _render_code(run),
        "",
        *_render_code_changed(run),
        *render_pipelines(run.pipelines),
    ]
    return "\n".join(lines) + "\n"


def _render_code_changed(run: Run) -> list[str]:
    if not run.code_changed:
        return []
    return [
        "**Warning: the application's source changed during this run (fingerprint "
        f"{run.code_at_start.fingerprint} at the start, "
        f"{run.code_at_end.fingerprint if run.code_at_end else '?'} at the end): servers "
        "started before and after the edit ran different code.**",
        "",
    ]


def _render_low_load(config: Config) -> str:
    if not config.low_connections:
        return " No rows at low connections (BENCH_LOW_CONNECTIONS=0)."
    return (
        f" Every endpoint except login again at {config.low_connections} connections "
        f"({config.warmup_s} s warm-up, then {config.low_duration_s} s)."
    )


def _render_cache_setting() -> str:
    is_default = setting_default("product_cache_ttl_seconds") == CATALOG_CACHE_TTL_S
    return (
        f"- Catalog read cache: `PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S}`"
        f'{" (the default)" if is_default else ""} for every table except "Catalog cache off", '
        f"which ran on a restarted server with `PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_OFF}`. "
        "The wrk scripts repeat the same few requests, so with the cache on the catalog reads "
        "mostly measure cache hits; with it off, every read goes to the database."
    )


def _render_code(run: Run) -> str:
    code = run.code_at_start
    changes = (
        f", with uncommitted changes in {len(code.changed_files)} file(s) under backend/ "
        f"({', '.join(code.changed_files)})"
        if code.changed_files
        else ", no uncommitted changes under backend/"
    )
    return f"- Code: commit {code.commit}{changes}; source fingerprint {code.fingerprint}."


_TABLE_HEADER = [
    "| Endpoint | req/s | p50 ms | p99 ms | % of ceiling | errors | target | met? |",
    "|---|---:|---:|---:|---:|---:|---|---|",
]


def _render_database(report: DatabaseReport, ceiling: WrkResult | None) -> list[str]:
    connections = report.rows[0].connections if report.rows else "?"
    lines = [
        f"## {report.name}",
        "",
        f"Catalog cache on (`PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S}`), "
        f"{connections} connections:",
        "",
        *_TABLE_HEADER,
    ]
    if ceiling:
        lines.append(
            f"| {CEILING.label} | {format_rps(ceiling.rps)} | {format_ms(ceiling.p50_ms)} | "
            f"{format_ms(ceiling.p99_ms)} | 100.0% | {ceiling.errors} | | |"
        )
    lines += [_render_row(row) for row in report.rows]
    lines += _render_lookups(report.cache_lookups, cache_on=True)
    lines += _render_low_table(report.low_rows, "catalog cache on")
    lines += [
        "",
        f"Login under load (the logins in flight, and /health/live measured at the same time by a "
        f"second wrk with {HEALTH_CONNECTIONS} connections), beside as many bare Argon2id "
        "verifications at once at the same cost (bench/hashes.py, a process of its own, run just "
        "before each login row with the server idle):",
        "",
        *_TABLE_HEADER,
    ]
    for bare in report.bare_hashes:
        lines.append(_render_bare_hashes(bare))
    lines += [_render_row(row) for row in report.under_login]
    if report.memory:
        lines += ["", _render_memory("Server memory", report.memory)]
    if report.uncached:
        lines += [
            "",
            "### Catalog cache off (every read goes to the database)",
            "",
            f"`PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_OFF}`, the same data on a restarted "
            f"server, {report.uncached[0].connections} connections. These rows have targets of "
            "their own (lower than the cache-on ones where they differ) and are in the summary.",
            "",
            *_TABLE_HEADER,
        ]
        lines += [_render_row(row) for row in report.uncached]
        lines += _render_lookups(report.uncached_cache_lookups, cache_on=False)
        lines += _render_low_table(report.uncached_low, "catalog cache off")
    if report.big:
        lines += [
            "",
            f"Recommendations over {BIG_PRODUCTS:,} products ({BIG_PRODUCTS - PRODUCTS:,} more "
            "seeded, server restarted; catalog cache on, "
            f"`PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S}`):",
            "",
            *_TABLE_HEADER,
            _render_row(report.big),
        ]
        lines += _render_lookups(report.big_cache_lookups, cache_on=True)
    if report.big_memory:
        lines += [
            "",
            _render_memory(f"Server memory ({BIG_PRODUCTS:,} products)", report.big_memory),
        ]
    return [*lines, ""]


def _render_low_table(rows: Sequence[Row], cache: str) -> list[str]:
    if not rows:
        return []
    return [
        "",
        f"At {rows[0].connections} connections ({cache}; the server is not saturated, so the "
        "latency is the request's own):",
        "",
        *_TABLE_HEADER,
        *(_render_row(row) for row in rows),
    ]


def _render_bare_hashes(bare: BareHashes) -> str:
    return (
        f"| bare Argon2id verify, {bare.threads} at once (m={bare.memory_kib} KiB, "
        f"t={bare.iterations}, p={bare.parallelism}) | {format_rps(bare.rate)} | "
        f"{format_ms(bare.p50_ms)} | {format_ms(bare.p99_ms)} | | 0 | | |"
    )


def _render_row(row: Row) -> str:
    result = row.result
    targets = ", ".join(check.target for check in row.checks)
    missed = [check for check in row.checks if not check.met]
    if not row.checks:
        met = ""
    elif missed:
        met = "**no**: " + ", ".join(check.measured for check in missed)
    else:
        met = "yes"
    errors = f"**{result.errors}**" if result.errors else "0"
    return (
        f"| {row.endpoint.label} | {format_rps(result.rps)} | {format_ms(result.p50_ms)} | "
        f"{format_ms(result.p99_ms)} | {row.share:.1%} | {errors} | {targets} | {met} |"
    )


def _render_lookups(lookups: CacheLookups | None, *, cache_on: bool) -> list[str]:
    if lookups is None:
        return []
    if cache_on:
        text = (
            f"Catalog cache lookups on this server (warm-ups included, from its /metrics): "
            f"{lookups.total:,}, of which {lookups.hit_share:.1%} hits."
        )
    elif lookups.total:
        text = (
            f"**Warning: this server's catalog cache counted {lookups.total:,} lookups "
            f"({lookups.hits:,} hits): it was not off, so these rows are not what they claim.**"
        )
    else:
        text = "Catalog cache lookups on this server (from its /metrics): none, the cache was off."
    return ["", text]


def _render_memory(title: str, memory: Memory) -> str:
    check = memory_check(memory)
    return (
        f"{title} (`/proc/<pid>/status`): VmRSS idle {memory.idle_rss_kib / 1024:.0f} MiB, "
        f"peak under load {memory.peak_rss_kib / 1024:.0f} MiB, VmHWM "
        f"{memory.hwm_kib / 1024:.0f} MiB, up to {memory.peak_threads} threads; target {check.target}: {'met' if check.met else '**missed**'}."
    )


def _render_targets(reports: Sequence[DatabaseReport]) -> list[str]:
    lines = [
        "## Targets (reported, not asserted; the default configuration)",
        "",
        "| database | what | target | measured | met? |",
    ]
    lines.append("|---|---|---|---|---|")
    for report in reports:
        for what, check in report.checks():
            met = "yes" if check.met else "**no**"
            lines.append(f"| {report.name} | {what} | {check.target} | {check.measured} | {met} |")
    return lines
