"""Opaque prefixed ids with 128 random bits: ``ses_``, ``msg_``, ``chk_``, ``sum_``."""

from __future__ import annotations

import re
import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 25  # 36**25 > 2**128
_PATTERN = re.compile(r"^(ses|msg|chk|sum)_[0-9a-z]{25}$")

PREFIXES = ("ses", "msg", "chk", "sum")


def new_id(prefix: str) -> str:
    """Return a new id such as ``ses_3k2j...`` with 128 random bits."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    n = secrets.randbits(128)
    chars = []
    for _ in range(_BODY_LEN):
        n, r = divmod(n, 36)
        chars.append(_ALPHABET[r])
    return f"{prefix}_{''.join(chars)}"


def is_valid(value: object, prefix: str) -> bool:
    """True if ``value`` is a well-formed id of the given prefix."""
    return isinstance(value, str) and value.startswith(prefix + "_") and bool(_PATTERN.match(value))
