"""The orchestrator's workspace for the embed and index steps, over the real repositories, and
the labelled passages as the chunks of one text file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.application.interfaces.pipeline import EmbeddingModel
from app.domain.entities.pipeline import Chunk, PipelineRun, StepName
from app.infrastructure.database.engine import Database
from bench.pipelines.databases import write_uow


@dataclass
class Workspace:
    """The orchestrator's workspace (run_step.py) for the embed and index steps, over the real
    repositories: each batch of embeddings committed, then the run's progress in a transaction
    of its own, as in production."""

    database: Database
    run: PipelineRun
    text: str

    async def read_file(self) -> bytes:
        return self.text.encode()

    async def read_text(self) -> str:
        return self.text

    async def save_chunks(self, pieces: Sequence[tuple[int, int]], text: str) -> int:
        chunks = [
            chunk_of(self.run, seq, text, start, end) for seq, (start, end) in enumerate(pieces)
        ]
        async with write_uow(self.database) as uow:
            await uow.pipeline_chunks.add_if_absent(chunks)
            await uow.commit()
        return len(chunks)

    async def chunks_to_embed(self, model: EmbeddingModel) -> tuple[list[Chunk], int]:
        async with write_uow(self.database) as uow:
            pending = await uow.pipeline_chunks.without_embedding(self.run.id, model)
            total = len(await uow.pipeline_chunks.list_for_run(self.run.id))
        return pending, total

    async def store_embeddings(
        self, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]], fraction: float
    ) -> None:
        async with write_uow(self.database) as uow:
            await uow.pipeline_chunks.set_embeddings(self.run.id, model, vectors)
            await uow.commit()
        async with write_uow(self.database) as uow:
            run = await uow.pipeline_runs.get(self.run.id)
            expected = run.version
            run.report_progress(StepName.EMBED, fraction, datetime.now(UTC))
            await uow.pipeline_runs.update(run, expected_version=expected)
            await uow.commit()

    async def publish(self) -> tuple[str, int]:
        async with write_uow(self.database) as uow:
            count = await uow.pipeline_chunks.publish(self.run.id)
            index = await uow.chunk_vectors.name()
            await uow.commit()
        return index, count


def chunk_of(run: PipelineRun, seq: int, text: str, start: int, end: int) -> Chunk:
    return Chunk(
        run_id=run.id,
        seq=seq,
        owner_id=run.owner_id,
        resource_id=run.resource_id,
        file_id=run.file_id,
        text=text[start:end],
        start=start,
        end=end,
    )


def passage_pieces(texts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The passages as one file's text, blank-line separated, and each one's offsets."""
    pieces, start = [], 0
    for passage in texts:
        pieces.append((start, start + len(passage)))
        start += len(passage) + 2
    return "\n\n".join(texts), pieces
