"""Build and cache the loaded stores under ``bench/data/`` (gitignored).

A dataset is a list of session sizes (messages per session) and a name that seeds the text.
Each peer gets its own directory ``bench/data/<dataset>/<peer>/``; a manifest written after a
successful load (``<peer>.json``: session ids, message count, text bytes, load time) marks it
complete, so a rerun reuses it and an interrupted load is rebuilt. sessionhub's directory
name carries a fingerprint of its schema and migrations, so a schema change rebuilds its data.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .datagen import DATAGEN_VERSION, ChatMessage, session_messages
from .peers import Peer, checkpoint_sqlite_files

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DatasetSpec:
    """What to load: ``sessions[i]`` messages in session ``i``."""

    name: str
    sessions: tuple[int, ...]

    @property
    def messages(self) -> int:
        return sum(self.sessions)

    @property
    def key(self) -> str:
        counts = sorted(set(self.sessions))
        if len(counts) == 1:
            shape = f"{len(self.sessions)}x{counts[0]}"
        else:
            shape = "-".join(str(n) for n in self.sessions)
        return f"{self.name}-{shape}-v{DATAGEN_VERSION}"

    def generate(self) -> list[list[ChatMessage]]:
        """The text of every session (deterministic)."""
        return [list(session_messages(self.name, i, n)) for i, n in enumerate(self.sessions)]


@dataclass
class Loaded:
    """A peer's copy of a dataset, ready to measure."""

    root: str
    session_ids: list[str]
    messages: int
    text_bytes: int
    load_seconds: float
    built_now: bool = False


def sessionhub_fingerprint() -> str:
    """A short hash of sessionhub's version, schema and migrations (read afresh each time)."""
    try:
        import sessionhub
    except Exception:
        return "none"
    digest = hashlib.sha256(getattr(sessionhub, "__version__", "?").encode())
    store = Path(sessionhub.__file__).parent / "store"
    for path in sorted([store / "schema.py", *(store / "migrations").rglob("*.py")]):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def peer_dir_name(peer_key: str) -> str:
    """The directory name of a peer's copy (sessionhub's, encrypted or not, carries the store fingerprint)."""
    return f"{peer_key}-{sessionhub_fingerprint()}" if peer_key.startswith("sessionhub") else peer_key


async def ensure(
    spec: DatasetSpec,
    peer_key: str,
    make_peer: Callable[[Path], Peer],
    log: Callable[[str], None],
    text_cache: dict[str, list[list[ChatMessage]]],
    data_dir: Path = DATA_DIR,
) -> Loaded:
    """Return the peer's loaded copy of ``spec``, building it first if it is not cached."""
    base = data_dir / spec.key
    name = peer_dir_name(peer_key)
    root = base / name
    manifest = base / f"{name}.json"
    if manifest.exists():
        return Loaded(**json.loads(manifest.read_text()))
    if peer_key.startswith("sessionhub"):  # drop copies made by older store code
        for old in base.glob(f"{peer_key}-*"):
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
    shutil.rmtree(root, ignore_errors=True)
    if spec.key not in text_cache:
        log(f"generating {spec.messages:,} messages in {len(spec.sessions):,} sessions ({spec.key})")
        text_cache.clear()  # keep one dataset's text in memory at a time
        text_cache[spec.key] = spec.generate()
    sessions = text_cache[spec.key]
    text_bytes = sum(len(m["content"].encode()) for s in sessions for m in s)
    log(f"loading {spec.key} into {peer_key}")
    started = time.perf_counter()
    peer = make_peer(root)
    async with peer:
        if len(sessions) <= 16:
            ids = []
            for messages in sessions:
                sid = await peer.new_session()
                await peer.bulk_load(sid, messages)
                ids.append(sid)
        else:
            ids = await peer.load_sessions(sessions)
    checkpoint_sqlite_files(root)
    loaded = Loaded(
        root=str(root),
        session_ids=ids,
        messages=spec.messages,
        text_bytes=text_bytes,
        load_seconds=time.perf_counter() - started,
    )
    manifest.write_text(json.dumps(asdict(loaded)))
    loaded.built_now = True
    log(f"loaded {spec.key} into {peer_key} in {loaded.load_seconds:.1f} s")
    return loaded
