"""Make the committed test speech: twelve everyday English sentences read by festival's HTS voice.

The recogniser tests (`tests/integration/test_pocketsphinx_transcriber.py`) measure the word error
rate on these files, so they need speech an offline recogniser can hear: festival's
`cmu_us_slt_arctic_hts` voice is heard almost word for word by pocketsphinx, where espeak-ng's
formant voice loses nearly every word (see the shared notes on speech test data). The audio is
committed, so neither the tests nor CI need festival; only this script does.

Every sentence is written as 16 kHz mono FLAC (small, and the recogniser's own rate). The first is
also written as 32 kHz WAV (festival's own output, so the decoder's resampling is exercised), OGG
Vorbis and MP3. `sentences.json` maps each file to the text that produced it.

Run it from the repository root, once festival is installed (Debian: `apt-get install festival
festvox-us-slt-hts`):

    .venv/bin/python backend/tests/data/speech/make_speech.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SENTENCES = (
    "the weather today is sunny and warm so we will have lunch in the garden",
    "please close the door when you leave the room and turn off the lights",
    "i would like a cup of coffee with milk and a piece of chocolate cake",
    "the children are playing football in the park near the school after class",
    "we need to buy bread eggs and fresh fruit at the store on our way home",
    "my brother lives in a small house near the river with his wife and two dogs",
    "the train leaves the station at seven in the morning and arrives before noon",
    "she reads a book every night before she goes to bed",
    "can you help me carry these heavy boxes up the stairs to the second floor",
    "the old dog is sleeping under the kitchen table next to the warm stove",
    "turn left at the next corner and walk two blocks to find the post office",
    "it is going to rain this afternoon so do not forget to take your umbrella",
)
VOICE = "(voice_cmu_us_slt_arctic_hts)"
FLAC_SAMPLE_RATE = 16_000
# The sentence also written as WAV, OGG and MP3 (at festival's own rate).
EVERY_FORMAT_SENTENCE = 0
OTHER_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def synthesise(text: str, work: Path) -> tuple[np.ndarray, int]:
    """Festival's reading of `text`: float32 samples and their rate (32 kHz for this voice)."""
    text_path = work / "sentence.txt"
    wav_path = work / "sentence.wav"
    text_path.write_text(text + "\n", encoding="utf-8")
    subprocess.run(  # noqa: S603 - a fixed program and our own arguments
        ["text2wave", "-eval", VOICE, "-o", str(wav_path), str(text_path)],  # noqa: S607
        check=True,
        capture_output=True,
    )
    samples, rate = sf.read(wav_path, dtype="float32")
    return samples, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out: Path = parser.parse_args().out
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as work:
        for index, text in enumerate(SENTENCES):
            stem = f"{index + 1:02d}_{'_'.join(text.split()[:3])}"
            samples, rate = synthesise(text, Path(work))
            resampled = soxr.resample(samples, rate, FLAC_SAMPLE_RATE, quality="HQ")
            sf.write(out / f"{stem}.flac", resampled, FLAC_SAMPLE_RATE, "PCM_16", format="FLAC")
            texts[f"{stem}.flac"] = text
            if index == EVERY_FORMAT_SENTENCE:
                for suffix, (container, subtype) in OTHER_FORMATS.items():
                    sf.write(out / f"{stem}{suffix}", samples, rate, subtype, format=container)
                    texts[f"{stem}{suffix}"] = text
            print(f"{stem}: {len(samples) / rate:.2f} s")
    (out / "sentences.json").write_text(json.dumps(texts, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
