"""The default `Transcriber`: CMU PocketSphinx with the en-US model inside its package.

Nothing is downloaded and no server runs: the acoustic model, dictionary and language model come
with the wheel. Accuracy is modest on everyday speech and good on clear speech; a Whisper-class
model is one setting away (`openai_compatible`).

Decoding is CPU-bound and a decoder is not thread-safe, so each call decodes in a worker thread
with an idle decoder from a small pool (loading one takes about 0.3 s), and a semaphore lets at
most `max_concurrency` calls decode at once.

A recording is decoded in utterances of at most `max_utterance_seconds`, cut in the longest pause
the voice activity detector hears near each limit: the search stays bounded on long recordings, a
cut falls between words where the recording allows it, and no speech is lost at an utterance's
edge as it can be when an endpointer trims the silence around speech. Only a piece in which the
detector hears (almost) no speech is skipped: the decoder hears words in digital silence. Each
utterance is decoded whole (`full_utt`), so cepstral mean normalisation sees all of it; the texts
are joined with spaces.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.infrastructure.adapters.transcription.audio import (
    DEFAULT_MAX_AUDIO_SECONDS,
    RECOGNISER_SAMPLE_RATE,
    decode_to_pcm16,
)

DEFAULT_MAX_UTTERANCE_SECONDS = 30.0
# Less speech than this in a piece is a click or a breath, not a word.
MIN_SPEECH_SECONDS = 0.2
_BYTES_PER_SAMPLE = 2

if TYPE_CHECKING:
    # Imported where a decoder or the detector is first made: the app starts without it.
    from pocketsphinx import Decoder


class PocketSphinxTranscriber:
    """`Transcriber` port, offline."""

    def __init__(
        self,
        *,
        max_concurrency: int = 1,
        max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS,
        max_utterance_seconds: float = DEFAULT_MAX_UTTERANCE_SECONDS,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._slots = asyncio.Semaphore(max_concurrency)
        # Taken and given back by the worker threads themselves, so a cancelled caller never
        # hands back a decoder its thread is still using.
        self._idle: list[Decoder] = []
        self._idle_lock = threading.Lock()
        self._max_audio_seconds = max_audio_seconds
        self._max_utterance_seconds = max_utterance_seconds

    @property
    def name(self) -> str:
        return "pocketsphinx-en-us"

    async def transcribe(self, audio: bytes, media_type: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._transcribe, audio, media_type)

    def _transcribe(self, audio: bytes, media_type: str) -> str:
        pcm = decode_to_pcm16(audio, media_type, max_seconds=self._max_audio_seconds)
        with self._idle_lock:
            decoder = self._idle.pop() if self._idle else None
        decoder = decoder or load_decoder()
        texts = [
            _hear(decoder, piece.pcm)
            for piece in split_at_pauses(pcm.samples, self._max_utterance_seconds)
            # The decoder hears words in digital silence; the detector does not.
            if piece.speech_seconds >= MIN_SPEECH_SECONDS
        ]
        with self._idle_lock:
            self._idle.append(decoder)
        return " ".join(text for text in texts if text)


def load_decoder() -> Decoder:
    """A decoder on the package's own en-US model, quiet on stderr."""
    from pocketsphinx import Decoder  # noqa: PLC0415

    return Decoder(samprate=RECOGNISER_SAMPLE_RATE, loglevel="FATAL")


def _hear(decoder: Decoder, utterance: bytes) -> str:
    decoder.start_utt()
    decoder.process_raw(utterance, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip().lower() if hypothesis is not None else ""


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of a recording (16 kHz mono int16) and how much of it the detector heard as
    speech."""

    pcm: bytes
    speech_seconds: float


def split_at_pauses(pcm: bytes, max_seconds: float) -> list[Piece]:
    """`pcm` in consecutive pieces of at most `max_seconds`, each cut in the middle of the
    longest non-speech stretch of the piece's second half (at the limit if the detector hears
    speech all through it). The pieces joined are `pcm` again."""
    from pocketsphinx import Vad  # noqa: PLC0415

    vad = Vad(sample_rate=RECOGNISER_SAMPLE_RATE)
    frame_bytes: int = vad.frame_bytes
    speech = [
        bool(vad.is_speech(pcm[offset : offset + frame_bytes]))
        for offset in range(0, len(pcm) - frame_bytes + 1, frame_bytes)
    ]
    frames_per_piece = max(
        2, int(max_seconds * RECOGNISER_SAMPLE_RATE) * _BYTES_PER_SAMPLE // frame_bytes
    )
    pieces: list[Piece] = []
    start = 0
    while len(pcm) - start * frame_bytes > frames_per_piece * frame_bytes:
        cut = _quietest_frame(speech, start + frames_per_piece // 2, start + frames_per_piece)
        pieces.append(_piece(pcm, speech, start, cut, frame_bytes))
        start = cut
    if len(pcm) > start * frame_bytes:
        pieces.append(_piece(pcm, speech, start, None, frame_bytes))
    return pieces


def _piece(pcm: bytes, speech: list[bool], start: int, end: int | None, frame_bytes: int) -> Piece:
    stop = None if end is None else end * frame_bytes
    speech_frames = sum(speech[start:end])
    return Piece(
        pcm[start * frame_bytes : stop],
        speech_frames * frame_bytes / (_BYTES_PER_SAMPLE * RECOGNISER_SAMPLE_RATE),
    )


def _quietest_frame(speech: Sequence[bool], low: int, high: int) -> int:
    """The middle of the longest run of non-speech frames in [low, high), or `high`."""
    best_start, best_length = high, 0
    run_start: int | None = None
    for index in range(low, high + 1):
        quiet = index < high and not speech[index]
        if quiet and run_start is None:
            run_start = index
        elif not quiet and run_start is not None:
            if index - run_start > best_length:
                best_start, best_length = run_start, index - run_start
            run_start = None
    return best_start + best_length // 2 if best_length else high
