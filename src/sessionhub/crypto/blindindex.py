"""Blind index: search encrypted text by whole words without storing the words.

A text is cut into normalised *terms*; each term is stored as a *token*, the first 16 hex
characters (64 bits) of HMAC-SHA256(index key, term). A query is cut the same way and
matches the messages holding every query token (AND). The store keeps tokens, never terms,
and builds snippets after decrypting the hits in memory.

Normalisation (the same for texts and queries; :func:`normalise_terms` exposes it so an
unencrypted search path can use the very same rules):

1. Unicode NFKC, then ``casefold()`` ("ＡＢＣ" -> "abc", "Straße" -> "strasse").
2. Words are maximal runs of letters, digits and combining marks; everything else
   (spaces, punctuation, ``_``, symbols, emoji) separates words ("don't" -> "don", "t").
3. Accents are removed from Latin and Greek letters ("Café" = "cafe", "ά" = "α"), and
   vowel points from Hebrew and Arabic (plus the Arabic tatweel); "ё" becomes "е".
   Other marks are kept, because in Cyrillic (й/и) and in Indic scripts (matras, virama)
   they tell different letters or words apart.
4. Han ideographs, Hiragana and Katakana are written without spaces, so each such
   character is a term on its own ("東京タワー" -> 東, 京, タ, ワ, ー); a query for "東京"
   then needs both characters in the message. Thai, Lao, Khmer and Burmese runs, also
   written without spaces, stay whole (no dictionary segmenter): search them by the
   whole run between spaces or punctuation.
5. Terms shorter than 2 characters (except the single CJK characters of rule 4) and
   longer than 64 characters are dropped: one-letter words are noise, and very long
   runs (base64, hashes, URLs without separators) bloat the index and are not searched
   as words. A query made only of such terms has no terms (the store answers no results).

Tokens are unique and sorted per text, so the order of words is not stored. 64-bit
tokens make an accidental match between two different terms about n / 2**64 per query
term for n distinct terms in the database (1e-13 at a million terms); the store checks
hits after decryption anyway, so a collision can never show a wrong result.

The index key comes from the database's random blind-index *secret* (wrapped by the
master key, see ``datakeys``) through HKDF-SHA256 with its own info label. It does not
change when the master key rotates, so rotation leaves every token valid; replacing the
secret itself means recomputing every token (a separate, rare operation).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .envelope import KEY_LEN

INDEX_INFO = b"sessionhub blind index v1"
TOKEN_HEX_CHARS = 16
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 64

_CJK_CLASS = (
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # Han extension A
    "\u4e00-\u9fff"  # Han
    "\uf900-\ufaff"  # Han compatibility
    "\U00020000-\U0003134f"  # Han extensions B-G
)
_CJK_SPLIT = re.compile(f"[{_CJK_CLASS}]|[^{_CJK_CLASS}]+")
_CJK_ONE = re.compile(f"[{_CJK_CLASS}]")

# Bases whose combining marks are accents to strip: Latin and Greek blocks.
_STRIP_BASES = (
    (0x0041, 0x024F),
    (0x0370, 0x03FF),
    (0x1E00, 0x1EFF),
    (0x1F00, 0x1FFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
)
# Hebrew and Arabic vowel points and cantillation marks, stripped after any base.
_POINTS = ((0x0591, 0x05C7), (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED))
_TATWEEL = "\u0640"
_EXTRA_FOLDS = str.maketrans({"ё": "е", _TATWEEL: None})


_STRIP_BASE_SET = frozenset(cp for lo, hi in _STRIP_BASES for cp in range(lo, hi + 1))
_POINT_SET = frozenset(cp for lo, hi in _POINTS for cp in range(lo, hi + 1))
_ASCII_WORD = re.compile(r"[a-z0-9]+")  # after casefold, ASCII text has no capitals


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Runs of word characters and combining marks, built once on first use."""
    ranges: list[tuple[int, int]] = []
    for cp in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    marks = "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)
    return re.compile(f"[\\w{marks}]+")  # one character class: fast; "_" is split off later


@functools.lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    out: list[str] = []
    strip_marks = False
    for ch in unicodedata.normalize("NFKD", word):
        cp = ord(ch)
        if unicodedata.combining(ch):
            if strip_marks or cp in _POINT_SET:
                continue
        else:
            strip_marks = cp in _STRIP_BASE_SET
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).translate(_EXTRA_FOLDS)


def _terms(text: str) -> list[str]:
    terms: list[str] = []
    folded_text = unicodedata.normalize("NFKC", text).casefold()
    if folded_text.isascii():  # the common case, about 5x faster
        return [w for w in _ASCII_WORD.findall(folded_text) if MIN_TERM_CHARS <= len(w) <= MAX_TERM_CHARS]
    words = _word_pattern().findall(folded_text)
    if "_" in folded_text:
        words = [piece for word in words for piece in word.split("_")]
    for word in words:
        if word.isascii():
            if MIN_TERM_CHARS <= len(word) <= MAX_TERM_CHARS:
                terms.append(word)
            continue
        for piece in _CJK_SPLIT.findall(_fold(word)):
            if MIN_TERM_CHARS <= len(piece) <= MAX_TERM_CHARS or (len(piece) == 1 and _CJK_ONE.match(piece)):
                terms.append(piece)
    return terms


def normalise_terms(text: str) -> list[str]:
    """The distinct normalised terms of ``text`` in order of first appearance (see the module rules)."""
    return list(dict.fromkeys(_terms(text)))


class IndexKey:
    """The HMAC key of the blind index. Its bytes never appear in ``repr``."""

    __slots__ = ("_key", "_tokens")

    _CACHE = 65536  # terms remembered (the process holds the texts in clear anyway)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_LEN:
            raise ValueError(f"an index key must be {KEY_LEN} bytes")
        self._key = key
        self._tokens: dict[str, str] = {}

    @classmethod
    def from_secret(cls, secret: bytes) -> IndexKey:
        """Derive the index key from the database's blind-index secret with HKDF-SHA256."""
        if not isinstance(secret, bytes) or len(secret) != KEY_LEN:
            raise ValueError(f"the blind-index secret must be {KEY_LEN} bytes")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=None, info=INDEX_INFO)
        return cls(hkdf.derive(secret))

    def token(self, term: str) -> str:
        """The token of one already-normalised term."""
        token = self._tokens.get(term)
        if token is None:
            token = hmac.digest(self._key, term.encode("utf-8"), hashlib.sha256).hex()[:TOKEN_HEX_CHARS]
            if len(self._tokens) >= self._CACHE:
                self._tokens.clear()
            self._tokens[term] = token
        return token

    def __repr__(self) -> str:
        return "IndexKey(...)"


def derive_index_key(secret: bytes) -> IndexKey:
    """Same as :meth:`IndexKey.from_secret`."""
    return IndexKey.from_secret(secret)


def index_terms(index_key: IndexKey, text: str) -> list[str]:
    """The tokens to store for ``text``: one per distinct term, sorted (word order is not kept)."""
    return sorted({index_key.token(term) for term in set(_terms(text))})


def query_terms(index_key: IndexKey, query: str) -> list[str]:
    """The tokens a whole-word query needs (all of them: AND), in query order, without repeats.

    Quotes and operators are ordinary separators. An empty list means the query has no
    searchable term; the store should answer with no results.
    """
    return list(dict.fromkeys(index_key.token(term) for term in _terms(query)))


__all__ = [
    "INDEX_INFO",
    "MAX_TERM_CHARS",
    "MIN_TERM_CHARS",
    "TOKEN_HEX_CHARS",
    "IndexKey",
    "derive_index_key",
    "index_terms",
    "normalise_terms",
    "query_terms",
]
