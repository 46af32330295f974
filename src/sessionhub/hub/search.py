"""How the hub runs a search: the mode, and the fusion of keyword and semantic rankings.

- ``keyword``: the indexes (words, last-word prefix, substrings in CJK and Thai).
- ``semantic``: the nearest messages in meaning (store/vectors_sql.py), above the
  ``[search] min_similarity`` cut-off.
- ``hybrid``: both, fused by reciprocal rank fusion (``semantic/vectors.py`` ``fuse``): a
  message found by both rankings rises above one found by either alone.
- The default (``[search] mode = "auto"``) is ``hybrid`` when the ``semantic`` extra is
  installed and the database is not encrypted, else ``keyword``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import Settings
from ..errors import InvalidInput
from ..model import SearchHit
from ..semantic import available

MODES = ("keyword", "semantic", "hybrid")
GROUPS = ("message", "session")
RRF_K = 60
HYBRID_SEMANTIC_ONLY = 0.45
"""In hybrid mode a hit that only semantic search found needs at least this cosine (or
``[search] min_similarity`` when higher): all-MiniLM-L6-v2 gives 0.35-0.40 to pairs that
share a topic word and little else ("kubernetes deployment" / "deployment of the cake
recipe": 0.38), and a keyword search should not fill up with those."""


def semantic_refusal(settings: Settings, encrypted: bool) -> str | None:
    """Why semantic search cannot run here, or None when it can."""
    if encrypted:
        return (
            "semantic search is off on an encrypted database: embedding vectors reveal what the "
            "messages mean, so they are never stored (use mode=keyword)"
        )
    if not available():
        return "semantic search needs the semantic extra: pip install 'sessionhub[semantic]'"
    if not settings.search.semantic:
        return "semantic search is turned off ([search] semantic = false)"
    return None


def resolve_mode(mode: str | None, settings: Settings, encrypted: bool) -> str:
    """The mode a search runs in; InvalidInput for an unknown one or one that cannot run here."""
    if mode is None or mode == "auto":
        wanted = settings.search.mode
        if wanted == "auto":
            return "hybrid" if semantic_refusal(settings, encrypted) is None else "keyword"
        mode = wanted
    if mode not in MODES:
        raise InvalidInput(f"unknown search mode {mode!r} (expected one of {', '.join(MODES)})")
    if mode != "keyword":
        refusal = semantic_refusal(settings, encrypted)
        if refusal is not None:
            raise InvalidInput(refusal)
    return mode


def load_model() -> Any:
    """The embedding model (loaded once per process; the semantic extra must be installed)."""
    from ..semantic.embedder import default_model  # numpy and onnxruntime: only when used

    return default_model()


def check_group(group: str | None) -> bool:
    """True for ``group="session"``; InvalidInput for anything but None, "message" or "session"."""
    if group is None:
        return False
    if group not in GROUPS:
        raise InvalidInput(f"unknown group {group!r} (expected one of {', '.join(GROUPS)})")
    return group == "session"


def _key(hit: SearchHit, grouped: bool) -> tuple[str, str | None]:
    return (hit.session.id, None) if grouped else (hit.session.id, hit.message_id)


def fuse_hits(
    keyword: Sequence[SearchHit],
    semantic: Sequence[SearchHit],
    limit: int,
    grouped: bool,
    semantic_only_min: float = HYBRID_SEMANTIC_ONLY,
) -> list[SearchHit]:
    """Reciprocal rank fusion of two best-first lists; the score is the fused one."""
    keys = {_key(h, grouped) for h in keyword}
    semantic = [h for h in semantic if _key(h, grouped) in keys or h.score >= semantic_only_min]
    scores: dict[tuple[str, str | None], float] = {}
    found: dict[tuple[str, str | None], list[SearchHit]] = {}
    for ranking in (keyword, semantic):
        for rank, hit in enumerate(ranking, start=1):
            key = _key(hit, grouped)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            found.setdefault(key, []).append(hit)
    out: list[SearchHit] = []
    for key, hits in found.items():
        first = hits[0]  # the keyword hit when there is one: its snippet marks the words
        match = "both" if len({h.match for h in hits}) > 1 else first.match
        count = max(h.count for h in hits)
        out.append(
            SearchHit(first.session, first.message_id, first.seq, first.snippet, scores[key], count, match)
        )
    out.sort(key=lambda h: h.score, reverse=True)
    return out[:limit]


__all__ = [
    "GROUPS",
    "HYBRID_SEMANTIC_ONLY",
    "MODES",
    "check_group",
    "fuse_hits",
    "load_model",
    "resolve_mode",
    "semantic_refusal",
]
