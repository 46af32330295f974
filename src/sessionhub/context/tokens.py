"""Token counting behind one small interface: exact with tiktoken, or a measured estimate.

``TokenCounter`` is the protocol every counter follows: ``name`` (also the cache key of
stored counts, so it names the encoding and version), ``exact``, ``count(text)`` and
``count_message(msg)``. A message costs its text plus a fixed framing overhead, as the
OpenAI chat format does (about 3-4 tokens per message), plus its parts serialised.

``get_counter("auto")`` gives a ``TiktokenCounter`` when the encoding can be loaded from
local files (see ``_bpe``), else the ``EstimateCounter``. Loading never touches the network.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

from ..errors import InvalidInput
from ..model import Message, ToolCall, ToolResult
from ._bpe import SPECS, load_encoding

MESSAGE_OVERHEAD: Final = 4
"""Tokens of framing per message (role and separators), as in OpenAI's counting recipe."""
PART_OVERHEAD: Final = 3
"""Tokens of framing per tool call or tool result part."""

Preference = Literal["auto", "tiktoken", "estimate"]
PREFERENCES: Final = ("auto", "tiktoken", "estimate")


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of text and of whole messages."""

    @property
    def name(self) -> str: ...

    @property
    def exact(self) -> bool: ...

    def count(self, text: str) -> int: ...

    def count_message(self, message: Message) -> int: ...


def part_text(part: ToolCall | ToolResult) -> str:
    """The text a part is sent as: ``name(json arguments)`` for a call, the content for a result."""
    if isinstance(part, ToolCall):
        args = json.dumps(dict(part.arguments), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return f"{part.name}({args})"
    return part.content


def message_tokens(count: Callable[[str], int], message: Message) -> int:
    """Tokens of a message: overhead, role, content and each part (a result equal to content counts once)."""
    total = MESSAGE_OVERHEAD + count(message.content)
    for part in message.parts:
        if isinstance(part, ToolResult) and part.content == message.content:
            total += PART_OVERHEAD
            continue
        total += PART_OVERHEAD + count(part_text(part))
    return total


class TiktokenCounter:
    """Exact counts with a tiktoken encoding (``cl100k_base`` or ``o200k_base``) loaded from local files."""

    exact = True

    def __init__(self, encoding: str = "cl100k_base", *, path: str | os.PathLike[str] | None = None) -> None:
        if encoding not in SPECS:
            raise InvalidInput(f"unknown encoding {encoding!r} (expected one of {', '.join(SPECS)})")
        loaded = load_encoding(encoding, path)
        if loaded is None:
            raise InvalidInput(f"tiktoken encoding {encoding!r} is not available locally")
        self._encoding: Any = loaded[0]
        self.source: Path = loaded[1]
        self.encoding = encoding

    @property
    def name(self) -> str:
        return f"tiktoken:{self.encoding}"

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._encoding.encode(text, disallowed_special=()))

    def count_message(self, message: Message) -> int:
        return message_tokens(self.count, message)

    def encode(self, text: str) -> list[int]:
        return list(self._encoding.encode(text, disallowed_special=()))

    def decode(self, tokens: list[int]) -> str:
        return str(self._encoding.decode(tokens))


ESTIMATOR_ERROR: Final = {"encoding": "cl100k_base", "samples": 72, "mean": 0.060, "p95": 0.162}
"""Relative error of ``EstimateCounter`` vs cl100k on ``tests/context/corpus.py`` (bench/context_estimator.py)."""

# One pass over the text; each group is a character class with its own cost.
_CLASSES = re.compile(
    r"(?P<word>[A-Za-z\u00c0-\u024f\u1e00-\u1eff']+)"
    r"|(?P<digits>[0-9]+)"
    r"|(?P<newline>\s*\n\s*)"
    r"|(?P<space>[ \t]+)"
    r"|(?P<punct>[!-/:-@\[-`{-~]+)"
    r"|(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+)"
    r"|(?P<kana>[\u3040-\u30ff]+)"
    r"|(?P<hangul>[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+)"
    r"|(?P<cyrillic>[\u0400-\u04ff]+)"
    r"|(?P<greek>[\u0370-\u03ff]+)"
    r"|(?P<abjad>[\u0590-\u06ff\u0750-\u077f]+)"
    r"|(?P<indic>[\u0900-\u0dff]+)"
    r"|(?P<other>.)",
    re.DOTALL,
)


class EstimateCounter:
    """A heuristic counter by character class, measured against cl100k (see ``ESTIMATOR_ERROR``).

    Latin words cost one token up to ``WORD_CHARS`` letters, one more per further
    ``LONG_WORD_CHARS`` letters and ``ACCENT_PER_BYTE`` per byte of accents; digits go in
    groups of three; a punctuation run costs at least one token; Han, kana, Hangul, Greek,
    Cyrillic, Arabic/Hebrew and Indic scripts have a measured cost per character; other
    characters (emoji, symbols) cost by their UTF-8 length. Calibrated for cl100k: against
    o200k, which packs non-Latin scripts tighter, it over-counts (safe for budgets).
    """

    exact = False
    name = "estimate:v1"

    WORD_CHARS = 11.0
    LONG_WORD_CHARS = 2.8
    PUNCT_PER_CHAR = 0.2
    NEWLINE_RUN = 0.37
    SPACE_RUN = 0.07
    HAN_PER_CHAR = 0.95
    KANA_PER_CHAR = 1.0
    GREEK_PER_CHAR = 0.84
    ACCENT_PER_BYTE = 0.8
    HANGUL_PER_CHAR = 1.06
    CYRILLIC_PER_CHAR = 0.34
    ABJAD_PER_CHAR = 0.75
    INDIC_PER_CHAR = 1.23
    OTHER_PER_BYTE = 0.63

    def count(self, text: str) -> int:
        if not text:
            return 0
        total = 0.0
        for m in _CLASSES.finditer(text):
            kind = m.lastgroup
            n = m.end() - m.start()
            if kind == "word":
                accented = len(m.group().encode()) - n
                total += 1.0 + max(0.0, n - self.WORD_CHARS) / self.LONG_WORD_CHARS
                total += accented * self.ACCENT_PER_BYTE
            elif kind == "digits":
                total += math.ceil(n / 3)
            elif kind == "newline":
                total += self.NEWLINE_RUN
            elif kind == "space":
                total += self.SPACE_RUN if n == 1 else 1.0
            elif kind == "punct":
                total += max(1.0, n * self.PUNCT_PER_CHAR)
            elif kind == "han":
                total += n * self.HAN_PER_CHAR
            elif kind == "kana":
                total += n * self.KANA_PER_CHAR
            elif kind == "greek":
                total += 0.6 + n * self.GREEK_PER_CHAR
            elif kind == "hangul":
                total += n * self.HANGUL_PER_CHAR
            elif kind == "cyrillic":
                total += 0.6 + n * self.CYRILLIC_PER_CHAR
            elif kind == "abjad":
                total += 0.6 + n * self.ABJAD_PER_CHAR
            elif kind == "indic":
                total += n * self.INDIC_PER_CHAR
            else:
                total += max(1.0, len(m.group().encode()) * self.OTHER_PER_BYTE)
        return max(1, round(total))

    def count_message(self, message: Message) -> int:
        return message_tokens(self.count, message)


def tiktoken_available(encoding: str = "cl100k_base") -> bool:
    """Whether ``TiktokenCounter(encoding)`` can be built here without the network."""
    try:
        TiktokenCounter(encoding)
    except InvalidInput:
        return False
    return True


_COUNTERS: dict[tuple[str, str], TokenCounter] = {}


def get_counter(preference: str = "auto", encoding: str = "cl100k_base") -> TokenCounter:
    """The counter for a preference: ``tiktoken`` (must load), ``estimate``, or ``auto`` (tiktoken if local).

    Counters are cached per process: the BPE file is read once.
    """
    if preference not in PREFERENCES:
        raise InvalidInput(
            f"unknown tokenizer preference {preference!r} (expected auto, tiktoken or estimate)"
        )
    if encoding not in SPECS:
        raise InvalidInput(f"unknown encoding {encoding!r} (expected one of {', '.join(SPECS)})")
    key = (preference, encoding)
    if key in _COUNTERS:
        return _COUNTERS[key]
    counter: TokenCounter
    if preference == "estimate":
        counter = EstimateCounter()
    elif preference == "tiktoken":
        counter = TiktokenCounter(encoding)
    else:
        try:
            counter = TiktokenCounter(encoding)
        except InvalidInput:
            counter = EstimateCounter()
    _COUNTERS[key] = counter
    return counter
