"""Audio bytes to 16 kHz mono int16 PCM: every type the upload sniffer allows, resampling that
keeps pitch and level, downmixing, clipping, the duration bound, and bytes that are not audio."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.application.interfaces.pipeline import MediaUnreadableError, UnsupportedPipelineMediaError
from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer
from app.infrastructure.adapters.transcription.audio import (
    AUDIO_MEDIA_TYPES,
    RECOGNISER_SAMPLE_RATE,
    decode_to_pcm16,
)

SPEECH = Path(__file__).parents[1] / "data" / "speech"
SENTENCES: dict[str, str] = json.loads((SPEECH / "sentences.json").read_text())
SAME_SENTENCE = sorted(name for name in SENTENCES if name.startswith("01_"))


def encoded(
    samples: np.ndarray, rate: int, container: str = "WAV", subtype: str = "PCM_16"
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, subtype, format=container)
    return buffer.getvalue()


def int16(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2")


def sine(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)


def test_the_committed_speech_comes_in_every_format_of_one_sentence() -> None:
    assert [Path(name).suffix for name in SAME_SENTENCE] == [".flac", ".mp3", ".ogg", ".wav"]
    assert len([name for name in SENTENCES if name.endswith(".flac")]) == 12
    assert all((SPEECH / name).is_file() for name in SENTENCES)


@pytest.mark.parametrize("name", SAME_SENTENCE)
def test_decodes_each_sniffed_format_to_the_same_length_at_16_khz(name: str) -> None:
    content = (SPEECH / name).read_bytes()
    media_type = PuremagicContentTypeSniffer().sniff(content[:4096])
    assert media_type in AUDIO_MEDIA_TYPES

    pcm = decode_to_pcm16(content, media_type)

    original = sf.info(io.BytesIO(content))
    assert pcm.seconds == pytest.approx(original.duration, abs=0.01)
    assert 4.0 < pcm.seconds < 5.0
    assert np.abs(int16(pcm.samples)).max() > 3000  # speech, not silence


def test_resamples_festivals_32_khz_wav_to_what_the_16_khz_flac_holds() -> None:
    from_wav = int16(decode_to_pcm16((SPEECH / SAME_SENTENCE[3]).read_bytes(), "audio/wav").samples)
    from_flac = int16(
        decode_to_pcm16((SPEECH / SAME_SENTENCE[0]).read_bytes(), "audio/flac").samples
    )

    assert len(from_wav) == len(from_flac)
    difference = from_wav.astype(float) - from_flac
    assert np.sqrt(np.mean(difference**2)) < 0.01 * np.sqrt(np.mean(from_flac.astype(float) ** 2))


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_resampling_keeps_the_pitch_and_the_level(rate: int) -> None:
    pcm = decode_to_pcm16(encoded(sine(1_000, rate, 1.0), rate), "audio/x-wav")

    samples = int16(pcm.samples).astype(float) / 32768
    assert len(samples) == RECOGNISER_SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * RECOGNISER_SAMPLE_RATE / len(samples)
    assert peak_hz == pytest.approx(1_000, abs=2)
    steady = samples[1_000:-1_000]  # away from the filter's edges
    assert np.abs(steady).max() == pytest.approx(0.5, abs=0.01)


def test_downmixes_channels_to_their_mean() -> None:
    left = sine(440, RECOGNISER_SAMPLE_RATE, 0.5, amplitude=0.6)
    right = sine(440, RECOGNISER_SAMPLE_RATE, 0.5, amplitude=0.2)
    stereo = np.stack([left, right], axis=1)

    pcm = decode_to_pcm16(encoded(stereo, RECOGNISER_SAMPLE_RATE, "FLAC"), "audio/flac")

    expected = np.rint((left + right) / 2 * 32768)
    assert np.abs(int16(pcm.samples) - expected).max() <= 2


def test_opposite_channels_cancel_out() -> None:
    left = sine(440, RECOGNISER_SAMPLE_RATE, 0.5)
    stereo = np.stack([left, -left], axis=1)

    pcm = decode_to_pcm16(encoded(stereo, RECOGNISER_SAMPLE_RATE, "FLAC"), "audio/flac")

    assert np.abs(int16(pcm.samples)).max() <= 1


def test_full_scale_clips_instead_of_wrapping_around() -> None:
    square = np.where(sine(100, 48_000, 0.5) >= 0, 1.0, -1.0)

    pcm = decode_to_pcm16(encoded(square, 48_000, "WAV", "FLOAT"), "audio/wav")

    samples = int16(pcm.samples)
    assert samples.max() == 32767
    assert samples.min() == -32768
    # A wrapped overshoot would put large negative values among the positive half-periods.
    first_half_period = samples[20:70]
    assert (first_half_period > 0).all()


def test_accepts_a_media_type_with_parameters_and_capitals() -> None:
    pcm = decode_to_pcm16(encoded(sine(440, 16_000, 0.25), 16_000), "Audio/WAV; codecs=1")

    assert pcm.seconds == pytest.approx(0.25)


def test_an_empty_recording_decodes_to_no_samples() -> None:
    pcm = decode_to_pcm16(encoded(np.zeros(0), 16_000), "audio/wav")

    assert pcm.samples == b""
    assert pcm.seconds == 0


def test_refuses_a_recording_longer_than_the_bound_before_decoding_it() -> None:
    three_seconds = encoded(np.zeros(3 * 44_100), 44_100)

    with pytest.raises(MediaUnreadableError) as raised:
        decode_to_pcm16(three_seconds, "audio/wav", max_seconds=2)

    assert raised.value.params["reason"] == "the audio lasts 3 s; at most 2 s is transcribed"
    assert decode_to_pcm16(three_seconds, "audio/wav", max_seconds=3).seconds == pytest.approx(3)


def flac_cut_in_half() -> bytes:
    content = (SPEECH / SAME_SENTENCE[0]).read_bytes()
    return content[: len(content) // 2]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 1000,
        b"hello, this is text and not audio at all " * 50,
        b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 64,
        b"fLaC" + bytes(range(256)) * 4,
        b"OggS" + b"\x00" * 500,
        flac_cut_in_half(),
    ],
    ids=["empty", "zeros", "text", "broken-wav-header", "broken-flac", "broken-ogg", "cut-flac"],
)
def test_bytes_that_do_not_decode_are_unreadable_media(content: bytes) -> None:
    with pytest.raises(MediaUnreadableError) as raised:
        decode_to_pcm16(content, "audio/flac")

    reason = raised.value.params["reason"]
    assert reason.startswith("the audio does not decode")
    assert "0x" not in reason  # libsndfile's own words, not the address of our buffer


@pytest.mark.parametrize("media_type", ["application/pdf", "text/plain", "video/mp4", ""])
def test_refuses_a_type_that_is_not_audio(media_type: str) -> None:
    with pytest.raises(UnsupportedPipelineMediaError):
        decode_to_pcm16((SPEECH / SAME_SENTENCE[0]).read_bytes(), media_type)
