"""Audio bytes to what a recogniser hears: 16 kHz mono signed 16-bit PCM.

libsndfile (through soundfile) decodes the types the upload sniffer allows (WAV, FLAC, OGG Vorbis,
MP3) from memory; soxr resamples. The file is read in blocks and resampled as a stream, so a long
recording costs memory for its 16 kHz output only (about 115 MB an hour), never for a float copy
of the original. The duration is checked before decoding, on the frame count libsndfile reads
from the header (or, for an MP3, its Xing/VBRI header or an estimate): soundfile never reads a
seekable file past that count, so it bounds the work too.

NumPy, soundfile and soxr are imported on the first decoding, not with this module: the API
imports it for `media_type_essence` and should not carry them from start-up.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.application.interfaces.pipeline import MediaUnreadableError, UnsupportedPipelineMediaError

# What `content_type.PuremagicContentTypeSniffer` names audio (and the usual alias of WAV).
AUDIO_MEDIA_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/flac", "audio/ogg", "audio/mpeg"})
RECOGNISER_SAMPLE_RATE = 16_000
DEFAULT_MAX_AUDIO_SECONDS = 2 * 60 * 60
_BLOCK_FRAMES = 65_536
_BYTES_PER_SAMPLE = 2

if TYPE_CHECKING:
    import numpy as np
    import soundfile as sf


@dataclass(frozen=True, slots=True)
class Pcm16:
    """Mono signed 16-bit little-endian samples at RECOGNISER_SAMPLE_RATE."""

    samples: bytes

    @property
    def seconds(self) -> float:
        return len(self.samples) / (_BYTES_PER_SAMPLE * RECOGNISER_SAMPLE_RATE)


def media_type_essence(media_type: str) -> str:
    """`audio/WAV; codecs=1` → `audio/wav`."""
    return media_type.split(";", 1)[0].strip().lower()


def decode_to_pcm16(
    audio: bytes, media_type: str, *, max_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
) -> Pcm16:
    """Decode, downmix and resample `audio`. Raises UnsupportedPipelineMediaError for a type that
    is not audio, MediaUnreadableError for bytes that do not decode or last over `max_seconds`."""
    if media_type_essence(media_type) not in AUDIO_MEDIA_TYPES:
        raise UnsupportedPipelineMediaError(media_type=media_type)
    import soundfile as sf  # noqa: PLC0415

    try:
        with sf.SoundFile(io.BytesIO(audio)) as sound:
            if sound.frames > max_seconds * sound.samplerate:
                raise MediaUnreadableError(
                    reason=f"the audio lasts {sound.frames / sound.samplerate:.0f} s; "
                    f"at most {max_seconds:.0f} s is transcribed"
                )
            return Pcm16(_resampled_pcm(sound))
    except sf.LibsndfileError as exc:
        # libsndfile says what it could not read ("Format not recognised.", "flac decoder lost
        # sync."), never quoting the content.
        raise MediaUnreadableError(
            reason=f"the audio does not decode: {exc.error_string.rstrip('.')}"
        ) from None
    except sf.SoundFileError:
        raise MediaUnreadableError(reason="the audio does not decode") from None


def _resampled_pcm(sound: sf.SoundFile) -> bytes:
    import numpy as np  # noqa: PLC0415
    import soxr  # noqa: PLC0415

    resampler = soxr.ResampleStream(sound.samplerate, RECOGNISER_SAMPLE_RATE, 1, dtype="float32")
    pieces: list[bytes] = []
    for block in sound.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
        pieces.append(_to_int16(resampler.resample_chunk(block.mean(axis=1))))
    pieces.append(_to_int16(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)))
    return b"".join(pieces)


def _to_int16(samples: np.ndarray) -> bytes:
    import numpy as np  # noqa: PLC0415

    # Resampling may overshoot full scale a little: clip rather than wrap around.
    scaled = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()
