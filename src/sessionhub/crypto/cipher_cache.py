"""``CipherCache``: one :class:`SessionCipher` per session, kept so reads unwrap its data key once."""

from __future__ import annotations

import threading
from collections import OrderedDict

from .cipher import SessionCipher
from .keys import Keyring
from .opened import OpenedRecords


class CipherCache:
    """A small thread-safe LRU of :class:`SessionCipher` per session, so reads unwrap once.

    Entries are keyed by session id and checked against the wrapped key, so a session
    re-wrapped by rotation is simply unwrapped again. Call :meth:`forget` when a session
    is deleted. With ``opened``, the ciphers share that cache of opened message records.
    """

    def __init__(self, keyring: Keyring, maxsize: int = 4096, *, opened: OpenedRecords | None = None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.keyring = keyring
        self.maxsize = maxsize
        self.opened = opened
        self._items: OrderedDict[str, tuple[str | bytes, SessionCipher]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str, wrapped: str | bytes) -> SessionCipher:
        """Return the session's cipher, unwrapping its data key on a miss (DecryptionError on failure)."""
        with self._lock:
            hit = self._items.get(session_id)
            if hit is not None and hit[0] == wrapped:
                self._items.move_to_end(session_id)
                return hit[1]
        cipher = SessionCipher.from_wrapped(self.keyring, wrapped, session_id, opened=self.opened)
        self.put(session_id, wrapped, cipher)
        return cipher

    def put(self, session_id: str, wrapped: str | bytes, cipher: SessionCipher) -> None:
        """Remember a cipher just created for a new session (saves the first unwrap)."""
        with self._lock:
            self._items[session_id] = (wrapped, cipher)
            self._items.move_to_end(session_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def forget(self, session_id: str) -> None:
        """Drop a session's cipher (on delete)."""
        with self._lock:
            self._items.pop(session_id, None)
        if self.opened is not None:
            self.opened.forget(session_id)

    def clear(self) -> None:
        """Drop every cipher."""
        with self._lock:
            self._items.clear()
        if self.opened is not None:
            self.opened.clear()

    def __len__(self) -> int:
        return len(self._items)


__all__ = ["CipherCache"]
