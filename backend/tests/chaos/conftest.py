"""Chaos tests: faults put between a running Strata and its dependencies, under load.

Selection: every case is marked `chaos`; the few that make the CI subset are also marked `fast`.
A plain `pytest` run keeps only the fast ones (they are bounded, about a minute together); the
others are skipped unless STRATA_CHAOS=1 is set (`make chaos`). An environment variable rather
than a marker expression, because `-m` cannot both select these and leave the rest of the suite
as it is, and the skip says in the report how to run them.
"""

from __future__ import annotations

import os

import pytest

RUN_ALL = "STRATA_CHAOS"
# What each case measured, for the summary at the end of the run.
FAULT_TABLE: list[dict[str, object]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: a fault injected under load into a real deployment")
    config.addinivalue_line("markers", "fast: a chaos case of the CI subset (bounded, short)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(RUN_ALL) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow chaos case: set {RUN_ALL}=1 to run it (make chaos)")
    for item in items:
        if item.get_closest_marker("chaos") and not item.get_closest_marker("fast"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FAULT_TABLE:
        return
    write = terminalreporter.write_line
    write("")
    write(
        "chaos: acknowledged writes (resources, payments, registrations), forbidden 5xx, lost writes (+ missing mails), duplicates (payments + mails),"
    )
    write("seconds to ready-and-writing after the fault cleared, seconds until every mail was")
    write("delivered once nothing was left to deliver, /health/ready named the failed dependency")
    write(
        "fault                      acked  5xx  lost  dup  recovery_s  mails_s  ready_named  case_s"
    )
    for row in FAULT_TABLE:
        write(
            f"{row['fault']:<25}  {row['acknowledged']:>5}  {row['server_errors']:>3}  {row['lost_writes']:>4}  "
            f"{row['duplicates']:>3}  {row['recovery_s']:>10}  {row['mails_settled_s']:>7}  "
            f"{row['ready_named']!s:>11}  {row['case_s']:>6}"
        )
