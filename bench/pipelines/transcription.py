"""Transcription: the word error rate of `PocketSphinxTranscriber` over the committed sentences,
and its real-time factor (process CPU seconds and wall seconds per second of audio)."""

from __future__ import annotations

import json
import time

from app.infrastructure.adapters.transcription.audio import decode_to_pcm16
from app.infrastructure.adapters.transcription.pocketsphinx import PocketSphinxTranscriber
from bench.pipelines.parameters import SPEECH_DIR
from bench.pipelines.records import Transcription
from tests.speech_metrics import word_edits, word_error_rate, words


async def transcription() -> Transcription:
    references: dict[str, str] = json.loads((SPEECH_DIR / "sentences.json").read_text())
    files = sorted(SPEECH_DIR.glob("*.flac"))
    transcriber = PocketSphinxTranscriber()
    await transcriber.transcribe(files[0].read_bytes(), "audio/flac")  # loads a decoder
    rates, edits, said, audio_s, cpu_s, wall_s = [], 0, 0, 0.0, 0.0, 0.0
    for path in files:
        audio = path.read_bytes()
        audio_s += decode_to_pcm16(audio, "audio/flac").seconds
        cpu, wall = time.process_time(), time.perf_counter()
        heard = await transcriber.transcribe(audio, "audio/flac")
        cpu_s += time.process_time() - cpu
        wall_s += time.perf_counter() - wall
        reference = references[path.name]
        rates.append(word_error_rate(reference, heard))
        edits += word_edits(reference, heard)
        said += len(words(reference))
    return Transcription(len(files), audio_s, sum(rates) / len(rates), edits / said, cpu_s, wall_s)
