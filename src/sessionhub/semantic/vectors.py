"""Vectors on disk and in memory, and the fusion of rankings.

- On disk a vector is 384 signed bytes: the unit vector scaled so its largest component is
  127 (``pack``). The scale is not kept: cosine similarity renormalises (``unpack``), and the
  error is below 0.01 in cosine.
- ``OwnerIndex`` holds one owner's vectors in memory for brute-force search: the int8 matrix
  while it is small (exact cosine over every vector), and past ``EXACT_MAX`` vectors only
  their sign bits (48 bytes each): the nearest candidates by Hamming distance are then
  re-scored exactly from the database (``candidates`` says which). It loads what is new
  since its last look (``message_vectors.id``), so a search pays only for new vectors.
- ``fuse``: reciprocal rank fusion (Cormack et al. 2009), ``sum(1 / (k + rank))``.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from . import DIMENSIONS

EXACT_MAX = 50_000  # vectors searched exactly in memory (19 MB); past it, sign bits + re-scoring
RRF_K = 60


def pack(vectors: Any) -> list[bytes]:
    """Unit float vectors -> int8 bytes (largest component scaled to 127)."""
    v = np.asarray(vectors, dtype=np.float32)
    scale = 127.0 / np.clip(np.abs(v).max(axis=1, keepdims=True), 1e-12, None)
    q = np.clip(np.rint(v * scale), -127, 127).astype(np.int8)
    return [row.tobytes() for row in q]


def _int8(blobs: Sequence[bytes]) -> Any:
    return np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), DIMENSIONS)


def _unit(m: Any) -> Any:
    f = m.astype(np.float32)
    f /= np.clip(np.sqrt(np.einsum("ij,ij->i", f, f))[:, None], 1e-12, None)
    return f


def unpack(blobs: Sequence[bytes]) -> Any:
    """int8 bytes -> unit float32 vectors, ``(n, 384)``."""
    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return _unit(_int8(blobs))


def _bits(m: Any) -> Any:
    return np.packbits(m > 0, axis=1).view(np.uint64)


class OwnerIndex:
    """One owner's vectors in memory (see the module docstring)."""

    def __init__(self) -> None:
        self.last_id = 0
        self.lock = threading.Lock()
        self._pks = np.zeros(0, dtype=np.int64)
        self._full: Any = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._bits: Any = np.zeros((0, DIMENSIONS // 64), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._pks)

    @property
    def exact(self) -> bool:
        return self._full is not None

    def add(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Add ``(vector id, message pk, vector bytes)`` rows, in id order."""
        if not rows:
            return
        raw = _int8([r[2] for r in rows])
        self._pks = np.concatenate(
            [self._pks, np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))]
        )
        self._bits = np.concatenate([self._bits, _bits(raw)])  # the signs: no float conversion
        if self._full is not None:
            self._full = np.concatenate([self._full, _unit(raw)]) if len(self._pks) <= EXACT_MAX else None
        self.last_id = rows[-1][0]

    def nearest(self, query: Any, k: int) -> tuple[list[int], list[float] | None]:
        """The ``k`` nearest message pks (best first), with exact cosines when the index is exact.

        Past ``EXACT_MAX`` the scores are None: the pks are the candidates by sign-bit Hamming
        distance, to be re-scored from their stored vectors.
        """
        n = len(self._pks)
        if n == 0:
            return [], None
        k = min(k, n)
        if self._full is not None:
            scores = self._full @ query
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return self._pks[top].tolist(), scores[top].tolist()
        q = _bits(query[None, :])
        dist = np.bitwise_count(self._bits ^ q).sum(axis=1)
        top = np.argpartition(dist, k - 1)[:k]
        return self._pks[top].tolist(), None


def cosine(query: Any, blobs: Sequence[bytes]) -> list[float]:
    """Cosine of ``query`` (a unit vector) with each stored vector."""
    return (unpack(blobs) @ query).tolist()  # type: ignore[no-any-return]


def fuse(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> dict[Hashable, float]:
    """Reciprocal rank fusion of best-first rankings: key -> fused score (higher is better)."""
    out: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            out[key] = out.get(key, 0.0) + 1.0 / (k + rank)
    return out


__all__ = ["EXACT_MAX", "RRF_K", "OwnerIndex", "cosine", "fuse", "pack", "unpack"]
