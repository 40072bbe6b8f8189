"""The passes over one database, each on a freshly started `strata serve`:

1. main: every endpoint (the catalog, identity, payments), then login under load, with the catalog
   cache at its default;
2. catalog cache off: the catalog reads again, so that their numbers are database work, not only
   cache hits (the wrk scripts repeat the same few requests, which a cache answers from memory);
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
    ENDPOINTS,
    PAYMENT_INTENT,
    REFRESH,
    RESOURCE_GET,
    WEBHOOK,
    WEBHOOK_DUPLICATE,
)
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
    """Migrate and seed the fresh database, then measure every endpoint and login under load."""
    log(f"[{report.name}] migrate")
    app.strata("migrate")
    seed(app, PRODUCTS, 1)
    log(f"[{report.name}] catalog cache on (PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S})")
    with app.serve(f"{report.key}.log", catalog_cache_ttl_s=CATALOG_CACHE_TTL_S) as server:
        idle = proc_status_kib(server.pid, "VmRSS")
        load = _load(app, server, config, wrk)
        for endpoint in ENDPOINTS:
            report.rows.append(measure_row(server, load, config.warmup_s, endpoint, ceiling_rps))
        report.rows.extend(_identity_rows(server, load, config, ceiling_rps))
        report.rows.extend(_payment_rows(app, server, load, config, ceiling_rps))
        report.under_login = measure_login_with_health(server, load, config.warmup_s, ceiling_rps)
        report.memory = server_memory(server, idle, [*report.rows, *report.under_login])
        report.cache_lookups = catalog_cache_lookups(server)


def uncached_pass(
    app: App, config: Config, wrk: str, ceiling_rps: float, report: DatabaseReport
) -> None:
    """The catalog reads again on a restarted server with the cache off (same data, same ids)."""
    log(f"[{report.name}] catalog cache off (PRODUCT_CACHE_TTL_SECONDS={CATALOG_CACHE_OFF})")
    log_name = f"{report.key}-uncached.log"
    with app.serve(log_name, catalog_cache_ttl_s=CATALOG_CACHE_OFF) as server:
        load = _load(app, server, config, wrk)
        for endpoint in CATALOG_READS:
            row = measure_row(server, load, config.warmup_s, endpoint, ceiling_rps)
            report.uncached.append(row)
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


def _identity_rows(server: Server, load: Load, config: Config, ceiling_rps: float) -> list[Row]:
    """Refresh and an authenticated resource read, with a user and sessions made just before."""
    fixture = prepare_identity(server.port, load.connections * REFRESH_SESSIONS_PER_CONNECTION + 1)
    refresh_load = load.with_script_env(BENCH_REFRESH_TOKENS=",".join(fixture.refresh_tokens))
    read_load = load.with_script_env(BENCH_ACCESS_TOKEN=fixture.access_token)
    resource_get = dataclasses.replace(
        RESOURCE_GET, path=RESOURCE_GET.path.replace("{id}", fixture.resource_id)
    )
    return [
        measure_row(server, read_load, config.warmup_s, resource_get, ceiling_rps),
        # No warm-up run: it would spend the prepared refresh tokens, and the measured run would
        # then present spent ones (reuse: 401). The server is warm from the rows before.
        measure_row(server, refresh_load, 0, REFRESH, ceiling_rps),
    ]


def _payment_rows(
    app: App, server: Server, load: Load, config: Config, ceiling_rps: float
) -> list[Row]:
    """Payment intents (each a new payment and a call to the Stripe stand-in), then signed webhook
    events: each id new, then one event delivered again and again."""
    fixture = prepare_payments(server.port, WEBHOOK_PAYMENTS)
    intents_load = load.with_script_env(
        BENCH_ACCESS_TOKEN=fixture.access_token, BENCH_BODY=PAYMENT_INTENT_BODY
    )
    rows = [measure_row(server, intents_load, config.warmup_s, PAYMENT_INTENT, ceiling_rps)]
    if config.warmup_s + config.duration_s > WEBHOOK_TOLERANCE_S - 10:
        log(
            f"    warning: webhook events are signed before each run and valid for "
            f"{WEBHOOK_TOLERANCE_S} s; a run this long will see them refused (400)"
        )
    events = _webhook_events(app, fixture)
    rows.append(_unique_webhooks_row(server, load, config, ceiling_rps, events))
    # A redelivery: an event the server has recorded, again (Stripe re-signs what it resends).
    first = events("duplicate", 1)
    deliver_webhook(server.port, first.read_text(encoding="utf-8"))
    duplicate_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(first), BENCH_WEBHOOK_REPEAT="1")
    rows.append(
        measure_row(server, duplicate_load, config.warmup_s, WEBHOOK_DUPLICATE, ceiling_rps)
    )
    return rows


def _webhook_events(app: App, fixture: PaymentFixture) -> Callable[[str, int], Path]:
    """Writes a file of `count` new signed events named after `what`; its path."""

    def write(what: str, count: int) -> Path:
        path = app.workdir / f"webhook-events-{what}.tsv"
        return write_webhook_events(path, fixture.intents, count, app.stripe_webhook_secret)

    return write


def _unique_webhooks_row(
    server: Server,
    load: Load,
    config: Config,
    ceiling_rps: float,
    events: Callable[[str, int], Path],
) -> Row:
    """Every event id sent once: the warm-up and the measured run each get a file of their own,
    signed just before it and sized from the fastest rate possible (the ceiling's) or, for the
    measured run, twice the warm-up's."""
    expected_rps = ceiling_rps
    if config.warmup_s:
        count = events_needed(expected_rps, config.warmup_s)
        log(f"  {WEBHOOK.label}: {config.warmup_s} s warm-up ({count:,} events)")
        warm_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(events("warm-up", count)))
        warm = warm_up(server, warm_load, config.warmup_s, WEBHOOK)
        _warn_if_exhausted("warm-up", warm.requests, count)
        expected_rps = min(ceiling_rps, 2 * warm.rps)
    count = events_needed(expected_rps, config.duration_s)
    log(f"    {count:,} events for the measured run")
    run_load = load.with_script_env(BENCH_WEBHOOK_EVENTS=str(events("run", count)))
    # No second warm-up inside: it would send the measured run's events first.
    row = measure_row(server, run_load, 0, WEBHOOK, ceiling_rps)
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
