"""The passes over one database, each on a freshly started `strata serve`:

1. main: every endpoint, then login under load, with the catalog cache at its default;
2. catalog cache off: the catalog reads again, so that their numbers are database work, not only
   cache hits (the wrk scripts repeat the same few requests, which a cache answers from memory);
3. 100,000 products (SQLite only): recommendations over a catalog ten times larger.
"""

from __future__ import annotations

import dataclasses

from bench.config import (
    BIG_PRODUCTS,
    CATALOG_CACHE_OFF,
    CATALOG_CACHE_TTL_S,
    PRODUCTS,
    Config,
    log,
)
from bench.databases import seed
from bench.endpoints import (
    BIG_RECOMMENDATIONS,
    CATALOG_READS,
    ENDPOINTS,
    REFRESH,
    RESOURCE_GET,
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
    log(f"[{report.name}] catalog cache on (CATALOG_CACHE_TTL_SECONDS={CATALOG_CACHE_TTL_S})")
    with app.serve(f"{report.key}.log", catalog_cache_ttl_s=CATALOG_CACHE_TTL_S) as server:
        idle = proc_status_kib(server.pid, "VmRSS")
        load = _load(app, server, config, wrk)
        for endpoint in ENDPOINTS:
            report.rows.append(measure_row(server, load, config.warmup_s, endpoint, ceiling_rps))
        report.rows.extend(_identity_rows(server, load, config, ceiling_rps))
        report.under_login = measure_login_with_health(server, load, config.warmup_s, ceiling_rps)
        report.memory = server_memory(server, idle, [*report.rows, *report.under_login])
        report.cache_lookups = catalog_cache_lookups(server)


def uncached_pass(
    app: App, config: Config, wrk: str, ceiling_rps: float, report: DatabaseReport
) -> None:
    """The catalog reads again on a restarted server with the cache off (same data, same ids)."""
    log(f"[{report.name}] catalog cache off (CATALOG_CACHE_TTL_SECONDS={CATALOG_CACHE_OFF})")
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


def _load(app: App, server: Server, config: Config, wrk: str) -> Load:
    return Load(wrk, config.connections, config.duration_s, script_env(app, product_ids(server)))
