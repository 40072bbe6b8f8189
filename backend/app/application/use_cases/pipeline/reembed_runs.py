"""After a change of embedding model, embed again what the old model embedded.

Vectors of two models are never compared: search reads only the current model's, so a chunk
embedded by the old one is not found by semantic search (keyword search still finds it) until
this periodic job has embedded it again, a batch of runs at a time.
"""

from __future__ import annotations

from collections.abc import Callable

from app.application.interfaces.pipeline import Embedder, PipelineUnitOfWork
from app.domain.entities.job import Job

REEMBED_JOB = "pipeline.reembed"
RUNS_PER_JOB = 50


class ReembedRuns:
    def __init__(self, unit_of_work: Callable[[], PipelineUnitOfWork], embedder: Embedder) -> None:
        self._unit_of_work = unit_of_work
        self._embedder = embedder

    async def __call__(self, job: Job) -> None:
        model = self._embedder.model
        async with self._unit_of_work() as uow:
            run_ids = await uow.pipeline_chunks.runs_embedded_with_other_models(
                model, limit=RUNS_PER_JOB
            )
        size = max(1, self._embedder.batch_size)
        for run_id in run_ids:
            async with self._unit_of_work() as uow:
                pending = await uow.pipeline_chunks.without_embedding(run_id, model)
            for first in range(0, len(pending), size):
                batch = pending[first : first + size]
                vectors = await self._embedder.embed([chunk.text for chunk in batch])
                async with self._unit_of_work() as uow:
                    await uow.pipeline_chunks.set_embeddings(
                        run_id, model, [(c.seq, v) for c, v in zip(batch, vectors, strict=True)]
                    )
                    await uow.commit()
