"""Embedding throughput: chunks per second of `EmbedStep` (batches committed with the run's
progress, as the orchestrator's workspace does) against the model's own `embed()` on the same
texts in the same run."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime

from app.application.interfaces.pipeline import EmbeddingModel
from app.application.services.pipeline_steps import EmbedStep, IndexStep
from app.domain.entities.pipeline import StepName
from app.infrastructure.adapters.embedding.minilm import PackagedMiniLmEmbedder
from app.infrastructure.database.engine import Database
from bench.config import log
from bench.pipelines.databases import Owner, new_run, write_uow
from bench.pipelines.records import Throughput, Timing
from bench.pipelines.workspace import Workspace, passage_pieces


async def index_through_pipeline(
    database: Database, owner: Owner, embedder: PackagedMiniLmEmbedder, texts: Sequence[str]
) -> tuple[Throughput, list[list[float]]]:
    """The passages embedded by `EmbedStep` and published by `IndexStep`, the embed step timed;
    then the same texts through `embed()` alone, in the step's batches and in one call."""
    run = await new_run(database, owner, up_to=StepName.CHUNK)
    whole, pieces = passage_pieces(texts)
    workspace = Workspace(database, run, whole)
    await workspace.save_chunks(pieces, whole)
    async with write_uow(database) as uow:  # the chunk step done, the embed step begun
        stored = await uow.pipeline_runs.get(run.id)
        expected = stored.version
        stored.finish_step(StepName.CHUNK, datetime.now(UTC))
        stored.start_step(StepName.EMBED, datetime.now(UTC))
        await uow.pipeline_runs.update(stored, expected_version=expected)
        await uow.commit()
    log(f"  EmbedStep over {len(texts)} passages")
    model = _ModelClock(embedder)
    step = await _timed(EmbedStep(model).run(stored, workspace))
    await IndexStep().run(stored, workspace)
    size = embedder.batch_size
    log(f"  embed() alone: batches of {size}, then one call")
    vectors: list[list[float]] = []

    async def in_batches() -> None:
        for first in range(0, len(texts), size):
            vectors.extend(await embedder.embed(texts[first : first + size]))

    raw_batches = await _timed(in_batches())
    raw_one_call = await _timed(embedder.embed(texts))
    in_model = Timing(model.wall_s, model.cpu_s)
    return Throughput(len(texts), size, step, in_model, raw_batches, raw_one_call), vectors


async def _timed(work: Awaitable[object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    await work
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


class _ModelClock:
    """The packaged model as the embed step is given it, adding up the time spent in its
    `embed` calls: the step's overhead is then measured in the same seconds as the model's work,
    which other load on the machine slows alike (two runs one after the other may not be)."""

    def __init__(self, embedder: PackagedMiniLmEmbedder) -> None:
        self._embedder = embedder
        self.wall_s = 0.0
        self.cpu_s = 0.0

    @property
    def model(self) -> EmbeddingModel:
        return self._embedder.model

    @property
    def batch_size(self) -> int:
        return self._embedder.batch_size

    @property
    def max_tokens(self) -> int:
        return self._embedder.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._embedder.count_tokens(text)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = await self._embedder.embed(texts)
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.process_time() - cpu
        return vectors
