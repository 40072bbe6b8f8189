"""What the pipelines pass measures with: the depth of its rankings, the modes it runs, how many
calls it times and the shape of its synthetic corpus. Every figure of the pass depends on these,
and the report states the corpus's."""

from __future__ import annotations

from app.application.use_cases.pipeline.search_chunks import SearchMode
from bench.config import BACKEND_DIR

TOP_K = 10  # recall@10, MRR@10, and the search API's default limit
MODES = (SearchMode.SEMANTIC, SearchMode.KEYWORD, SearchMode.HYBRID)
TIMED_MODES = (SearchMode.SEMANTIC, SearchMode.HYBRID)
SPEECH_DIR = BACKEND_DIR / "tests" / "data" / "speech"
QUERY_EMBEDDING_ROUNDS = 3  # each labelled query embedded alone this many times, after a warm-up
# Latency: after a warm-up, up to LATENCY_CALLS calls of each mode, fewer (never under
# LATENCY_MIN_CALLS) where they would take longer than LATENCY_BUDGET_S (exact scans of 100,000).
LATENCY_CALLS = 300
LATENCY_MIN_CALLS = 30
LATENCY_BUDGET_S = 20.0
WARMUP_CALLS = 20
WARMUP_BUDGET_S = 5.0
HNSW_RECALL_QUERIES = 200
SIZES = (10_000, 100_000)
RUN_CHUNKS = 10_000  # the synthetic chunks come in runs (files) of this many
CLUSTERS = 1_000
NOISE = 0.8  # norm of the noise around a cluster's centre: cosine to it about 0.78
WORDS_PER_CHUNK = 45
TOPIC_WORDS_PER_CHUNK = 15
TOPIC_SIZE = 12
SEED = 20261207
