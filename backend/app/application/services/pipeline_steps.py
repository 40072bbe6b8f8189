"""The pipeline's steps: each composes one model port with the run's workspace.

A step never touches the run's status (the orchestrator does, in `use_cases/pipeline/run_step.py`)
and every write it makes through the workspace is idempotent, so any step may be run again.
"""

from __future__ import annotations

from app.application.interfaces.pipeline import (
    Embedder,
    PipelineStepRunner,
    StepOutput,
    StepWorkspace,
    TextExtractor,
    Transcriber,
)
from app.application.services.chunking import ChunkingPolicy, chunk_text
from app.domain.entities.pipeline import PipelineRun, StepName


class TranscribeStep:
    name = StepName.TRANSCRIBE

    def __init__(self, transcriber: Transcriber) -> None:
        self._transcriber = transcriber

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        transcript = await self._transcriber.transcribe(await workspace.read_file(), run.media_type)
        return StepOutput(
            kind="transcript",
            summary={"characters": len(transcript), "transcriber": self._transcriber.name},
            text=transcript,
        )


class ExtractStep:
    name = StepName.EXTRACT

    def __init__(self, extractor: TextExtractor) -> None:
        self._extractor = extractor

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        text = self._extractor.extract(await workspace.read_file(), run.media_type)
        return StepOutput(kind="text", summary={"characters": len(text)}, text=text)


class ChunkStep:
    name = StepName.CHUNK

    def __init__(self, embedder: Embedder, policy: ChunkingPolicy) -> None:
        self._embedder = embedder
        # The model reads no further than its own limit, whatever the settings say.
        self._policy = ChunkingPolicy(
            max_tokens=min(policy.max_tokens, embedder.max_tokens),
            overlap_tokens=min(policy.overlap_tokens, embedder.max_tokens // 2 - 1),
        )

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        text = await workspace.read_text()
        spans = chunk_text(text, self._policy, self._embedder.count_tokens)
        count = await workspace.save_chunks([(span.start, span.end) for span in spans], text)
        return StepOutput(
            kind="chunks",
            summary={
                "chunks": count,
                "max_tokens": self._policy.max_tokens,
                "overlap_tokens": self._policy.overlap_tokens,
            },
        )


class EmbedStep:
    """Embeds the chunks an earlier attempt has not, batch by batch, each batch committed with
    the step's progress: a worker killed half-way leaves half the work done, never doubled."""

    name = StepName.EMBED

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        model = self._embedder.model
        pending, total = await workspace.chunks_to_embed(model)
        done = total - len(pending)
        size = max(1, self._embedder.batch_size)
        for first in range(0, len(pending), size):
            batch = pending[first : first + size]
            vectors = await self._embedder.embed([chunk.text for chunk in batch])
            if len(vectors) != len(batch):  # a model server's fault: worth another attempt
                raise RuntimeError(f"{len(batch)} texts embedded as {len(vectors)} vectors")
            done += len(batch)
            await workspace.store_embeddings(
                model,
                [(chunk.seq, vector) for chunk, vector in zip(batch, vectors, strict=True)],
                done / total,
            )
        return StepOutput(
            kind="embeddings",
            summary={"chunks": total, "model": model.name, "dimension": model.dimension},
        )


class IndexStep:
    name = StepName.INDEX

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        index, count = await workspace.publish()
        return StepOutput(kind="index", summary={"index": index, "chunks": count})


def default_steps(
    transcriber: Transcriber, extractor: TextExtractor, embedder: Embedder, policy: ChunkingPolicy
) -> dict[StepName, PipelineStepRunner]:
    steps: list[PipelineStepRunner] = [
        TranscribeStep(transcriber),
        ExtractStep(extractor),
        ChunkStep(embedder, policy),
        EmbedStep(embedder),
        IndexStep(),
    ]
    return {step.name: step for step in steps}
