"""The pipelines pass as the Markdown section of the bench report: its tables, and each goal
stated with whether it was met."""

from __future__ import annotations

from bench.pipelines.parameters import HNSW_RECALL_QUERIES, SIZES, TOP_K
from bench.pipelines.records import PipelinesReport, Throughput, Transcription, percentile
from tests.retrieval_metrics import QUERY_KINDS


def render_pipelines(report: PipelinesReport | None) -> list[str]:
    if report is None:
        return []
    return [
        "## Pipelines",
        "",
        f"Measured through the production code (repositories, `EmbedStep`, `SearchChunks` on the "
        f"read engine) on migrated databases; PostgreSQL is the bundled PostgreSQL 18 + pgvector "
        f"(backend/tests/pgvector_server.py: shared_buffers 32MB, fsync off). The pass took "
        f"{report.seconds:,.0f} s; load average (1, 5, 15 min) {_averages(report.load_before)} "
        f"before it, {_averages(report.load_after)} after: on 2 CPUs, above 2 means other work "
        "shared the machine, which slows the throughput and latency figures (not the quality).",
        "",
        *_render_quality(report),
        *_render_transcription(report.transcription),
        *_render_throughput(report.throughput),
        *_render_latency(report),
    ]


def _averages(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


def _render_quality(report: PipelinesReport) -> list[str]:
    lines = [
        f"### Retrieval quality (252 passages, 85 labelled queries, top {TOP_K})",
        "",
        "| database | mode | recall@10 | MRR@10 | "
        + " | ".join(f"{kind} recall / MRR" for kind in QUERY_KINDS)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(QUERY_KINDS),
    ]
    for database, modes in report.quality.items():
        for mode, quality in modes.items():
            kinds = " | ".join(
                f"{quality.by_kind[kind].recall:.3f} / {quality.by_kind[kind].mrr:.3f} "
                f"({quality.by_kind[kind].queries})"
                for kind in QUERY_KINDS
            )
            lines.append(
                f"| {database} | {mode} | {quality.overall.recall:.3f} | "
                f"{quality.overall.mrr:.3f} | {kinds} |"
            )
    return [*lines, ""]


def _render_transcription(result: Transcription | None) -> list[str]:
    if result is None:
        return []
    return [
        "### Transcription (PocketSphinx en-US, packaged)",
        "",
        "| sentences | audio | WER (mean per sentence) | WER (all words) | CPU s per audio s "
        "| wall s per audio s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {result.sentences} | {result.audio_s:.1f} s | {result.mean_wer:.1%} | "
        f"{result.corpus_wer:.1%} | {result.cpu_s / result.audio_s:.3f} | "
        f"{result.wall_s / result.audio_s:.3f} |",
        "",
    ]


def _render_throughput(result: Throughput | None) -> list[str]:
    if result is None:
        return []
    rows = [
        ("`EmbedStep` over the repositories (SQLite), start to end", result.step),
        ("its `embed()` calls, added up", result.in_model),
        ("`embed()` alone afterwards, the step's batches", result.raw_batches),
        ("`embed()` alone afterwards, one call", result.raw_one_call),
    ]
    met = "met" if result.step_ratio >= 0.9 else "**not met**"
    return [
        f"### Embedding throughput (all-MiniLM-L6-v2 on NumPy, {result.chunks} chunks, batches "
        f"of {result.batch_size})",
        "",
        "| how | wall s | chunks/s | process CPU s |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {timing.wall_s:.1f} | {result.chunks / timing.wall_s:.1f} | "
            f"{timing.cpu_s:.1f} |"
            for label, timing in rows
        ),
        "",
        f"The step's throughput over its own model calls': **{result.step_ratio:.3f}** (goal "
        f"≥ 0.9: {met}). Over `embed()` alone run afterwards: "
        f"{result.raw_batches.wall_s / result.step.wall_s:.2f} in the same batches, "
        f"{result.raw_one_call.wall_s / result.step.wall_s:.2f} in one call (runs a minute "
        "apart, so other load on the machine weighs on them unequally).",
        "",
    ]


def _render_latency(report: PipelinesReport) -> list[str]:
    return [
        *_latency_table(report),
        *_latency_goals(report),
        *_hnsw_findings(report),
        "",
    ]


def _latency_table(report: PipelinesReport) -> list[str]:
    embed = report.query_embedding_ms
    lines = [
        "### Search latency (one owner, synthetic clustered vectors)",
        "",
        f"Query embedding alone (MiniLM, one query): p50 {percentile(embed, 50):.1f} ms, p99 "
        f"{percentile(embed, 99):.1f} ms over {len(embed)} calls; the same on every database, "
        "added call by call to the search times in the last two columns.",
        "",
        "| database | index | chunks | mode | calls | p50 ms | p99 ms | p50 ms with embedding "
        "| p99 ms with embedding |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for latency in report.latencies:
        row = latency.to_json()
        lines.append(
            f"| {latency.database} | {latency.index} | {latency.chunks:,} | {latency.mode} | "
            f"{row['calls']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['with_query_embedding_p50_ms']:.1f} | {row['with_query_embedding_p99_ms']:.1f} |"
        )
    return [*lines, ""]


def _latency_goals(report: PipelinesReport) -> list[str]:
    """The goal of p99 ≤ 50 ms, searched with pgvector at the largest size, per mode."""
    goal = [
        latency
        for latency in report.latencies
        if latency.database.endswith("pgvector") and latency.chunks == SIZES[-1]
    ]
    lines = []
    for latency in goal:
        p99 = percentile(latency.search_ms, 99)
        lines.append(
            f"- Goal p99 ≤ 50 ms at {SIZES[-1]:,} with pgvector, {latency.mode}: p99 "
            f"{p99:.1f} ms, {'met' if p99 <= 50 else '**not met**'} (search alone)."
        )
    return lines


def _hnsw_findings(report: PipelinesReport) -> list[str]:
    lines = []
    if report.hnsw_recall is not None:
        lines.append(
            f"- HNSW recall@{TOP_K} against the exact top {TOP_K} (NumPy, same {SIZES[-1]:,} "
            f"vectors), {HNSW_RECALL_QUERIES} queries near the clusters: "
            f"**{report.hnsw_recall:.3f}**, as the API searches (`SearchChunks` on the read "
            "engine, ef_search 100 with pgvector's iterative scan)."
        )
    if report.hnsw_as_intended is not None:
        recall, times = report.hnsw_as_intended
        lines.append(
            f"- The same queries through `SqlVectorIndex.nearest` alone, on the write engine: "
            f"recall@{TOP_K} **{recall:.3f}**, nearest() p50 "
            f"{percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms."
        )
    if report.hnsw_build_s:
        builds = ", ".join(f"{s:.1f} s at {size:,}" for size, s in report.hnsw_build_s.items())
        lines.append(f"- HNSW index build (`prepare_vector_index` over loaded rows): {builds}.")
    if report.hnsw_index_scans is not None:
        lines.append(
            f"- The HNSW index was scanned {report.hnsw_index_scans:,} times during the "
            f"{SIZES[-1]:,}-chunk semantic and hybrid runs (pg_stat_user_indexes): "
            + (
                "the planner used it."
                if report.hnsw_index_scans
                else "**the planner did not use it**."
            )
        )
    return lines
