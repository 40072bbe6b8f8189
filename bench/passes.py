"""The passes over one database, each on a freshly started `strata serve`:

1. main: every endpoint (the catalog, identity, payments) at BENCH_CONNECTIONS, then each again at
   BENCH_LOW_CONNECTIONS, then login with /health/live beside it at BENCH_CONNECTIONS and at 64 in
   flight, each after as many bare Argon2id verifications at once (bench/hashes.py), with the
   catalog cache at its default;
2. catalog cache off: the catalog reads again (at both numbers of connections), so that their
   numbers are database work, not only cache hits (the wrk scripts repeat the same few requests,
   which a cache answers from memory);
3. 100,000 products (SQLite only): recommendations over a catalog ten times larger.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from bench.config import (
    BIG_PRODUCTS,
    CATALOG_CACHE_OFF,
    CATALOG_CACHE_TTL_S,
    PAYMENT_INTENT_BODY,
    PRODUCTS,
    WEBHOOK_PAYMENTS,
    WEBHOOK_TOLERANCE_S,
    Config,
    log,
)
from bench.databases import seed
from bench.endpoints import (
    BIG_RECOMMENDATIONS,
    CATALOG_READS,
    CATALOG_READS_UNCACHED,
    PAYMENT_INTENT,
    REFRESH,
    RESOURCE_GET,
    WEBHOOK,
    WEBHOOK_DUPLICATE,
    Endpoint,
    at_low_connections,
)
from bench.hashes import measure_bare_hashes
from bench.identity import REFRESH_SESSIONS_PER_CONNECTION, prepare_identity
from bench.measure import (
    catalog_cache_lookups,
    measure_login_with_health,
    measure_row,
    proc_status_kib,
    product_ids,
    script_env,
    server_memory,
    warm_up,
)
from bench.payments import (
    PaymentFixture,
    deliver_webhook,
    events_needed,
    prepare_payments,
    write_webhook_events,
)
from bench.records import DatabaseReport, Row
from bench.servers import App, Server
from bench.wrk import Load


def main_pass(
    app: App, config: Config, wrk: str, ceiling_rps: float, report: DatabaseReport
) -> None:
    """Migrate and seed the fresh database, then measure every endpoint (at BENCH_CONNECTIONS, then
    at BENCH_LOW_CONNECTIONS) and login under load beside bare Argon2id."""
    log(f"[{report.name}] migrate")
    app.strata("migrate")
    seed(app, PRODUCTS, 1)
    log(f"[{report.name}] catalog cache on (PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S})")
    with app.serve(f"{report.key}.log", catalog_cache_ttl_s=CATALOG_CACHE_TTL_S) as server:
        idle = proc_status_kib(server.pid, "VmRSS")
        load = _load(app, server, config, wrk)
        report.rows = _endpoint_rows(app, server, load, config, ceiling_rps, low=False)
        if config.low_connections:
            low_load = _low_load(load, config)
            log(f"[{report.name}] at {config.low_connections} connections")
            report.low_rows = _endpoint_rows(app, server, low_load, config, ceiling_rps, low=True)
        for in_flight in config.login_in_flight:
            bare = measure_bare_hashes(in_flight, config.duration_s)
            report.bare_hashes.append(bare)
            report.under_login += measure_login_with_health(
                server, load, config.warmup_s, ceiling_rps, in_flight, bare
            )
        measured = [*report.rows, *report.low_rows, *report.under_login]
        report.memory = server_memory(server, idle, measured)
        report.cache_lookups = catalog_cache_lookups(server)


def _endpoint_rows(
    app: App, server: Server, load: Load, config: Config, ceiling_rps: float, *, low: bool
) -> list[Row]:
    """The catalog reads, identity and payments at `load`'s connections; with `low`, held to the
    low-connection target instead of the saturated one's."""
    rows = [
        measure_row(server, load, config.warmup_s, _at(endpoint, low), ceiling_rps)
        for endpoint in CATALOG_READS
    ]
    rows += _identity_rows(server, load, config, ceiling_rps, low)
    rows += _payment_rows(app, server, load, config, ceiling_rps, low)
    return rows


def _at(endpoint: Endpoint, low: bool) -> Endpoint:
    return at_low_connections(endpoint) if low else endpoint


def _low_load(load: Load, config: Config) -> Load:
    return load.with_connections(config.low_connections).with_duration(config.low_duration_s)


def uncached_pass(
    app: App, config: Config, wrk: str, ceiling_rps: float, report: DatabaseReport
) -> None:
    """The catalog reads again on a restarted server with the cache off (same data, same ids)."""
    log(f"[{report.name}] catalog cache off (PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_OFF})")
    log_name = f"{report.key}-uncached.log"
    with app.serve(log_name, catalog_cache_ttl_s=CATALOG_CACHE_OFF) as server:
        load = _load(app, server, config, wrk)
        for endpoint in CATALOG_READS_UNCACHED:
            row = measure_row(server, load, config.warmup_s, endpoint, ceiling_rps)
            report.uncached.append(row)
        if config.low_connections:
            low_load = _low_load(load, config)
            log(f"[{report.name}] catalog cache off, at {config.low_connections} connections")
            for endpoint in CATALOG_READS_UNCACHED:
                row = measure_row(
                    server, low_load, config.warmup_s, at_low_connections(endpoint), ceiling_rps
                )
                report.uncached_low.append(row)
        report.uncached_cache_lookups = catalog_cache_lookups(server)
    lookups = report.uncached_cache_lookups
    if lookups is not None and lookups.total:
        # A cache that is off counts nothing: if it did, these rows are not what they claim.
        log(f"    warning: the catalog cache was not off ({lookups.hits} hits)")


def big_catalog_pass(
    app: App, config: Config, wrk: str, ceiling_rps: float, report: DatabaseReport
) -> None:
    """Grow the catalog to 100,000 products and measure recommendations again (fresh server)."""
    log(f"[{report.name}] recommendations over {BIG_PRODUCTS:,} products")
    seed(app, BIG_PRODUCTS - PRODUCTS, 2)
    log_name = f"{report.key}-100k.log"
    with app.serve(log_name, catalog_cache_ttl_s=CATALOG_CACHE_TTL_S) as server:
        idle = proc_status_kib(server.pid, "VmRSS")
        load = _load(app, server, config, wrk)
        report.big = measure_row(server, load, config.warmup_s, BIG_RECOMMENDATIONS, ceiling_rps)
        report.big_memory = server_memory(server, idle, [report.big])
        report.big_cache_lookups = catalog_cache_lookups(server)


def _identity_rows(
    server: Server, load: Load, config: Config, ceiling_rps: float, low: bool
) -> list[Row]:
    """Refresh and an authenticated resource read, with a user and sessions made just before (a
    new user at each number of connections: the refresh pool is sized by them)."""
    fixture = prepare_identity(server.port, load.connections * REFRESH_SESSIONS_PER_CONNECTION + 1)
    refresh_load = load.with_script_env(BENCH_REFRESH_TOKENS=",".join(fixture.refresh_tokens))
    read_load = load.with_script_env(BENCH_ACCESS_TOKEN=fixture.access_token)
    resource_get = dataclasses.replace(
        RESOURCE_GET, path=RESOURCE_GET.path.replace("{id}", fixture.resource_id)
    )
    return [
        measure_row(server, read_load, config.warmup_s, _at(resource_get, low), ceiling_rps),
        # No warm-up run: it would spend the prepared refresh tokens, and the measured run would
        # then present spent ones (reuse: 401). The server is warm from the rows before.
        measure_row(server, refresh_load, 0, _at(REFRESH, low), ceiling_rps),
    ]


def _payment_rows(
    app: App, server: Server, load: Load, config: Config, ceiling_rps: float, low: bool
) -> list[Row]:
    """Payment intents (each a new payment and a call to the Stripe stand-in), then signed webhook
    events: each id new, then one event delivered again and again. A new user, new payments and
    new event files at each number of connections."""
    fixture = prepare_payments(server.port, WEBHOOK_PAYMENTS)
    intents_load = load.with_script_env(
        BENCH_ACCESS_TOKEN=fixture.access_token, BENCH_BODY=PAYMENT_INTENT_BODY
    )
    intent = _at(PAYMENT_INTENT, low)
    rows = [measure_row(server, intents_load, config.warmup_s, intent, ceiling_rps)]
    if config.warmup_s + load.duration_s > WEBHOOK_TOLERANCE_S - 10:
        log(
            f"    warning: webhook events are signed before each run and valid for "
            f"{WEBHOOK_TOLERANCE_S} s; a run this long will see them refused (400)"
        )
    events = _webhook_events(app, fixture, load.connections)
    rows.append(_unique_webhooks_row(server, load, config, ceiling_rps, events, _at(WEBHOOK, low)))
    # A redelivery: an event the server has recorded, again (Stripe re-signs what it resends).
    first = events("duplicate", 1)
    deliver_webhook(server.port, first.read_text(encoding="utf-8"))
    duplicate_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(first), BENCH_WEBHOOK_REPEAT="1")
    duplicate = _at(WEBHOOK_DUPLICATE, low)
    rows.append(measure_row(server, duplicate_load, config.warmup_s, duplicate, ceiling_rps))
    return rows


def _webhook_events(
    app: App, fixture: PaymentFixture, connections: int
) -> Callable[[str, int], Path]:
    """Writes a file of `count` new signed events named after `what`; its path."""

    def write(what: str, count: int) -> Path:
        path = app.workdir / f"webhook-events-c{connections}-{what}.tsv"
        return write_webhook_events(path, fixture.intents, count, app.stripe_webhook_secret)

    return write


def _unique_webhooks_row(
    server: Server,
    load: Load,
    config: Config,
    ceiling_rps: float,
    events: Callable[[str, int], Path],
    webhook: Endpoint,
) -> Row:
    """Every event id sent once: the warm-up and the measured run each get a file of their own,
    signed just before it and sized from the fastest rate possible (the ceiling's) or, for the
    measured run, twice the warm-up's."""
    expected_rps = ceiling_rps
    if config.warmup_s:
        count = events_needed(expected_rps, config.warmup_s)
        log(f"  {webhook.label}: {config.warmup_s} s warm-up ({count:,} events)")
        warm_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(events("warm-up", count)))
        warm = warm_up(server, warm_load, config.warmup_s, webhook)
        _warn_if_exhausted("warm-up", warm.requests, count)
        expected_rps = min(ceiling_rps, 2 * warm.rps)
    count = events_needed(expected_rps, load.duration_s)
    log(f"    {count:,} events for the measured run")
    run_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(events("run", count)))
    # No second warm-up inside: it would send the measured run's events first.
    row = measure_row(server, run_load, 0, webhook, ceiling_rps)
    _warn_if_exhausted("run", row.result.requests, count)
    return row


def _warn_if_exhausted(what: str, sent: int, count: int) -> None:
    if sent > count:
        log(
            f"    warning ({what}): {sent:,} requests for {count:,} events; those beyond them "
            "were sent unsigned (400) and counted as errors"
        )


def _load(app: App, server: Server, config: Config, wrk: str) -> Load:
    return Load(wrk, config.connections, config.duration_s, script_env(app, product_ids(server)))
