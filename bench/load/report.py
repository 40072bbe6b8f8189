"""From locust's CSV files to a verdict and a markdown summary.

The locustfile marks every unexpected answer as a failure whose message holds "HTTP <status>"
(0: no answer at all), so the failures file says which were server errors.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.load.names import WITHOUT_P99_LIMIT

AGGREGATED = "Aggregated"
STATUS_IN_ERROR = re.compile(r"HTTP (\d{1,3}) ")
NO_ANSWER = 0


@dataclass(frozen=True, slots=True)
class RequestStats:
    name: str
    count: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    per_second: float


@dataclass(frozen=True, slots=True)
class Failure:
    name: str
    status: int | None  # None: a failure that names no status (a pipeline run that failed)
    error: str
    occurrences: int


@dataclass(frozen=True, slots=True)
class Results:
    requests: tuple[RequestStats, ...]
    failures: tuple[Failure, ...]
    exceptions: tuple[str, ...]  # errors in the locustfile itself: a journey did not run


@dataclass(frozen=True, slots=True)
class Verdict:
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def read_results(csv_prefix: Path) -> Results:
    stats_path = Path(f"{csv_prefix}_stats.csv")
    if not stats_path.exists():
        raise FileNotFoundError(f"locust wrote no {stats_path.name}")
    requests = tuple(
        RequestStats(
            name=row["Name"],
            count=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            p50_ms=_milliseconds(row["50%"]),
            p95_ms=_milliseconds(row["95%"]),
            p99_ms=_milliseconds(row["99%"]),
            max_ms=_milliseconds(row["Max Response Time"]),
            per_second=float(row["Requests/s"]),
        )
        for row in _rows(stats_path)
        if row["Name"] != AGGREGATED
    )
    failures = tuple(
        Failure(
            name=row["Name"],
            status=_status_of(row["Error"]),
            error=row["Error"],
            occurrences=int(row["Occurrences"]),
        )
        for row in _rows(Path(f"{csv_prefix}_failures.csv"))
    )
    exceptions = tuple(
        f"{row['Count']} x {row['Message']}" for row in _rows(Path(f"{csv_prefix}_exceptions.csv"))
    )
    return Results(requests, failures, exceptions)


def judge(results: Results, max_p99_ms: float) -> Verdict:
    """Fails on any server error or request left unanswered, on any other failure (a journey that
    broke measures nothing), on an error in the locustfile, and on a p99 over `max_p99_ms` for
    every request type but those in WITHOUT_P99_LIMIT."""
    problems = []
    if not any(stats.count for stats in results.requests):
        problems.append("no request was made")
    for failure in results.failures:
        if failure.status is not None and failure.status >= 500:
            kind = f"{failure.occurrences} x HTTP {failure.status}"
        elif failure.status == NO_ANSWER:
            kind = f"{failure.occurrences} x no answer"
        else:
            kind = f"{failure.occurrences} x unexpected answer"
        problems.append(f"{failure.name}: {kind}: {_short(failure.error)}")
    problems.extend(f"locustfile error: {_short(exception)}" for exception in results.exceptions)
    for stats in results.requests:
        if stats.name not in WITHOUT_P99_LIMIT and stats.p99_ms > max_p99_ms:
            problems.append(
                f"{stats.name}: p99 {stats.p99_ms:.0f} ms > {max_p99_ms:.0f} ms "
                f"(by {stats.p99_ms - max_p99_ms:.0f} ms)"
            )
    return Verdict(tuple(problems))


def server_errors(results: Results) -> int:
    return sum(
        failure.occurrences
        for failure in results.failures
        if failure.status is not None and failure.status >= 500
    )


def markdown(
    results: Results, verdict: Verdict, max_p99_ms: float, parameters: Mapping[str, str]
) -> str:
    lines = ["# Load test (locust)", ""]
    lines += [f"- {name}: {value}" for name, value in parameters.items()]
    lines += [
        f"- p99 limit: {max_p99_ms:.0f} ms, for every request but "
        + ", ".join(sorted(WITHOUT_P99_LIMIT)),
        "",
        f"**{'PASS' if verdict.passed else 'FAIL'}**",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms | p99 limit |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for stats in sorted(results.requests, key=lambda stats: -stats.count):
        if stats.name in WITHOUT_P99_LIMIT:
            limit = "none"
        elif stats.p99_ms > max_p99_ms:
            limit = f"**over by {stats.p99_ms - max_p99_ms:.0f} ms**"
        else:
            limit = "met"
        lines.append(
            f"| {stats.name} | {stats.count} | {stats.failures} | {stats.per_second:.1f} "
            f"| {stats.p50_ms:.0f} | {stats.p95_ms:.0f} | {stats.p99_ms:.0f} | {stats.max_ms:.0f} "
            f"| {limit} |"
        )
    total = sum(stats.count for stats in results.requests)
    failed = sum(stats.failures for stats in results.requests)
    lines += [
        "",
        f"{total} requests, {failed} failed, {server_errors(results)} server errors (5xx).",
        "",
    ]
    if results.failures or results.exceptions:
        lines += ["## Errors", "", "| request | error | occurrences |", "| --- | --- | ---: |"]
        lines += [
            f"| {failure.name} | {_short(failure.error)} | {failure.occurrences} |"
            for failure in results.failures
        ]
        lines += [f"| (locustfile) | {_short(exception)} | |" for exception in results.exceptions]
        lines.append("")
    if verdict.problems:
        lines += ["## Why it failed", ""]
        lines += [f"- {problem}" for problem in verdict.problems]
        lines.append("")
    return "\n".join(lines)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _milliseconds(value: str) -> float:
    # Locust writes "N/A" for a percentile of a request type that was never answered.
    try:
        return float(value)
    except ValueError:
        return 0.0


def _status_of(error: str) -> int | None:
    found = STATUS_IN_ERROR.search(error)
    return int(found.group(1)) if found else None


def _short(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split()).replace("|", "\\|")
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
