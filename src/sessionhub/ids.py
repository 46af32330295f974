"""Opaque prefixed ids with 128 random bits: ``ses_``, ``msg_``, ``chk_``, ``sum_``."""

from __future__ import annotations

import re
import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 25  # 36**25 > 2**128
_PATTERN = re.compile(r"^(ses|msg|chk|sum)_[0-9a-z]{25}$")

PREFIXES = ("ses", "msg", "chk", "sum")


# Random bytes below 252 map uniformly onto the 36 characters (252 = 7 * 36); the rest are dropped.
_TO_CHAR = bytes(ord(_ALPHABET[b % 36]) if b < 252 else 0 for b in range(256))
_DROP = bytes(range(252, 256))


def new_id(prefix: str) -> str:
    """Return a new id such as ``ses_3k2j...`` with 25 uniform base-36 characters (> 128 random bits)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    body = b""
    while len(body) < _BODY_LEN:  # 40 bytes keep at least 25 in all but ~1e-20 of calls
        body += secrets.token_bytes(40).translate(_TO_CHAR, _DROP)
    return f"{prefix}_{body[:_BODY_LEN].decode()}"


def is_valid(value: object, prefix: str) -> bool:
    """True if ``value`` is a well-formed id of the given prefix."""
    return isinstance(value, str) and value.startswith(prefix + "_") and bool(_PATTERN.match(value))
