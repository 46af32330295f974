"""``OpenedRecords``: message records this process opened lately, so a page read again (the
latest messages, every turn) is not decrypted again; and session fields (title, preview,
metadata), keyed by their whole sealed text and answered for the same field and cipher only.

An entry is found by the record's nonce (random for each sealing) and used only when the stored
record is byte for byte the one that was opened, for the same message id and seq, by the same
session cipher: the same key, associated data and ciphertext that authenticated before, whose
plaintext is the same. A record changed in the database (an edit, a move, tampering) does not
match and is opened, and authenticated, again.

What it costs: the plaintext of recently read and written messages stays in the server's memory
(up to ``max_bytes``, oldest out first; ``[encryption] read_cache_mb``, 0 turns it off), also
after those messages are deleted, until pushed out; a session's entries go when the session is
deleted. The process holds the keys anyway, so this widens nothing for whoever can read its
memory; it does keep deleted text there for a while, which docs/encryption.md says.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Owner(Protocol):
    """Who opened a record: a session's cipher."""

    session_id: str


# (record, seq, message_id, owner, fields, size): see OpenedRecords.put. A session field's
# entry: (sealed text, -1, field name, owner, (text,), size), keyed by the sealed text itself.
Entry = tuple[bytes | str, int, str, Owner, Any, int]
_OVERHEAD = 240  # bytes an entry costs beyond its record and texts (dict slot, tuple, objects)


class OpenedRecords:
    """A byte-bounded map from a record's nonce (a session field's sealed text) to what it
    opened to. Reads take no lock."""

    __slots__ = ("_by_session", "_bytes", "_items", "_lock", "get", "max_bytes")

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1 (no cache: pass None where it is used)")
        self.max_bytes = max_bytes
        self._items: dict[bytes | str, Entry] = {}
        self._by_session: dict[str, set[bytes | str]] = {}  # so forget() costs that session's entries
        self._bytes = 0
        self._lock = threading.Lock()
        self.get = self._items.get  # nonce -> Entry | None; the caller compares the rest

    def put(
        self, nonce: bytes | str, record: bytes | str, seq: int, message_id: str, owner: Owner, fields: Any
    ) -> None:
        """Remember ``fields``, opened from ``record`` (message ``message_id`` at ``seq``) by
        ``owner`` (the session's cipher). A record over 1/16 of the budget is not kept."""
        size = len(record) + _OVERHEAD + sum(len(f) for f in fields if f)
        if size * 16 > self.max_bytes:
            return
        with self._lock:
            self._drop(nonce)
            self._items[nonce] = (record, seq, message_id, owner, fields, size)
            self._by_session.setdefault(owner.session_id, set()).add(nonce)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, nonce: bytes | str) -> None:
        entry = self._items.pop(nonce, None)
        if entry is None:
            return
        self._bytes -= entry[5]
        mine = self._by_session[entry[3].session_id]
        mine.discard(nonce)
        if not mine:
            del self._by_session[entry[3].session_id]

    def forget(self, session_id: str) -> None:
        """Drop a session's entries (the session was deleted)."""
        with self._lock:
            for nonce in list(self._by_session.get(session_id, ())):
                self._drop(nonce)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._by_session.clear()
            self._bytes = 0

    @property
    def size(self) -> int:
        """Bytes held (an estimate: records, texts and a fixed cost an entry)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


__all__ = ["OpenedRecords", "Owner"]
