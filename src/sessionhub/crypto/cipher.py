"""``SessionCipher``: encrypts and decrypts one session's fields with its data key.

Each field is sealed with associated data (AAD) that names exactly where it lives::

    message content / parts / metadata   ("message", session_id, message_id, seq, field)
    session title / preview / metadata   ("session", session_id, field)
    checkpoint name / description        ("checkpoint", session_id, checkpoint_id, field)
    summary content                      ("summary", session_id, summary_id, field)

so a ciphertext copied to another session, another message, another seq (reordering) or
another field fails with :class:`DecryptionError` naming the session and the place. If
the store ever changes a message's seq or moves it to another session, it decrypts and
encrypts that row again.

Encrypt methods return envelope bytes (for BLOB/BYTEA columns; :func:`to_text` gives the
``"enc1:"`` text form for TEXT columns). Decrypt methods accept either form.
Encrypt empty values too: a NULL where a ciphertext belongs cannot be authenticated.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import DecryptionError
from .datakeys import new_data_key, unwrap_data_key, wrap_data_key
from .envelope import KEY_LEN, as_blob, key_id_of, make_aad, open_, seal
from .keys import Keyring


class SessionCipher:
    """Field encryption for one session, bound to ``(session_id, data_key)``. Thread-safe."""

    __slots__ = ("_aead", "_key", "_key_id", "session_id")

    def __init__(self, session_id: str, data_key: bytes) -> None:
        if not isinstance(data_key, bytes) or len(data_key) != KEY_LEN:
            raise ValueError(f"a data key must be {KEY_LEN} bytes")
        self.session_id = session_id
        self._key = data_key
        self._key_id = key_id_of(data_key)
        self._aead = AESGCM(data_key)

    @classmethod
    def create(cls, keyring: Keyring, session_id: str) -> tuple[SessionCipher, str]:
        """For a new session: a fresh data key's cipher, and the wrapped key to store in its row."""
        data_key = new_data_key()
        return cls(session_id, data_key), wrap_data_key(keyring.current, data_key, session_id)

    @classmethod
    def from_wrapped(cls, keyring: Keyring, wrapped: str | bytes, session_id: str) -> SessionCipher:
        """Unwrap the session's stored data key and return its cipher (DecryptionError on failure)."""
        return cls(session_id, unwrap_data_key(keyring, wrapped, session_id))

    def __repr__(self) -> str:
        return f"SessionCipher(session_id={self.session_id!r})"

    # -- generic ---------------------------------------------------------------------------

    def encrypt_field(
        self, kind: str, field: str, text: str, *, object_id: str | None = None, seq: int | None = None
    ) -> bytes:
        """Encrypt ``text`` bound to (kind, session, object_id, seq, field); for fields not named below."""
        aad = self._aad(kind, field, object_id, seq)
        return seal(self._key, text.encode("utf-8"), aad, key_id=self._key_id, aead=self._aead)

    def decrypt_field(
        self,
        kind: str,
        field: str,
        value: bytes | str,
        *,
        object_id: str | None = None,
        seq: int | None = None,
    ) -> str:
        """Decrypt what :meth:`encrypt_field` made with the same arguments."""
        context = self._context(kind, field, object_id, seq)
        blob = as_blob(value, context=context)
        raw = open_(
            self._key,
            blob,
            self._aad(kind, field, object_id, seq),
            context=context,
            key_id=self._key_id,
            aead=self._aead,
        )
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError(f"cannot decrypt {context}: the plaintext is not UTF-8 text") from None

    def _aad(self, kind: str, field: str, object_id: str | None, seq: int | None) -> bytes:
        return make_aad(kind, self.session_id, object_id or "", -1 if seq is None else seq, field)

    def _context(self, kind: str, field: str, object_id: str | None, seq: int | None) -> str:
        where = f"session {self.session_id}"
        if object_id:
            where += f" {kind} {object_id}"
        elif kind != "session":
            where += f" {kind}"
        if seq is not None:
            where += f" (seq {seq})"
        return f"{where} {field}"

    # -- messages --------------------------------------------------------------------------

    def encrypt_content(self, message_id: str, seq: int, text: str) -> bytes:
        """Encrypt a message's content."""
        return self.encrypt_field("message", "content", text, object_id=message_id, seq=seq)

    def decrypt_content(self, message_id: str, seq: int, value: bytes | str) -> str:
        """Decrypt a message's content."""
        return self.decrypt_field("message", "content", value, object_id=message_id, seq=seq)

    def encrypt_parts(self, message_id: str, seq: int, parts_json: str) -> bytes:
        """Encrypt a message's parts (the JSON text the store would otherwise write)."""
        return self.encrypt_field("message", "parts", parts_json, object_id=message_id, seq=seq)

    def decrypt_parts(self, message_id: str, seq: int, value: bytes | str) -> str:
        """Decrypt a message's parts back to JSON text."""
        return self.decrypt_field("message", "parts", value, object_id=message_id, seq=seq)

    def encrypt_message_metadata(self, message_id: str, seq: int, metadata_json: str) -> bytes:
        """Encrypt a message's metadata JSON text."""
        return self.encrypt_field("message", "metadata", metadata_json, object_id=message_id, seq=seq)

    def decrypt_message_metadata(self, message_id: str, seq: int, value: bytes | str) -> str:
        """Decrypt a message's metadata back to JSON text."""
        return self.decrypt_field("message", "metadata", value, object_id=message_id, seq=seq)

    # -- session row -----------------------------------------------------------------------

    def encrypt_title(self, title: str) -> bytes:
        """Encrypt the session title."""
        return self.encrypt_field("session", "title", title)

    def decrypt_title(self, value: bytes | str) -> str:
        """Decrypt the session title."""
        return self.decrypt_field("session", "title", value)

    def encrypt_preview(self, preview: str) -> bytes:
        """Encrypt the session preview."""
        return self.encrypt_field("session", "preview", preview)

    def decrypt_preview(self, value: bytes | str) -> str:
        """Decrypt the session preview."""
        return self.decrypt_field("session", "preview", value)

    def encrypt_session_metadata(self, metadata_json: str) -> bytes:
        """Encrypt the session's metadata JSON text."""
        return self.encrypt_field("session", "metadata", metadata_json)

    def decrypt_session_metadata(self, value: bytes | str) -> str:
        """Decrypt the session's metadata back to JSON text."""
        return self.decrypt_field("session", "metadata", value)

    # -- checkpoints and summaries ---------------------------------------------------------

    def encrypt_checkpoint_name(self, checkpoint_id: str, name: str) -> bytes:
        """Encrypt a checkpoint's name."""
        return self.encrypt_field("checkpoint", "name", name, object_id=checkpoint_id)

    def decrypt_checkpoint_name(self, checkpoint_id: str, value: bytes | str) -> str:
        """Decrypt a checkpoint's name."""
        return self.decrypt_field("checkpoint", "name", value, object_id=checkpoint_id)

    def encrypt_checkpoint_description(self, checkpoint_id: str, description: str) -> bytes:
        """Encrypt a checkpoint's description."""
        return self.encrypt_field("checkpoint", "description", description, object_id=checkpoint_id)

    def decrypt_checkpoint_description(self, checkpoint_id: str, value: bytes | str) -> str:
        """Decrypt a checkpoint's description."""
        return self.decrypt_field("checkpoint", "description", value, object_id=checkpoint_id)

    def encrypt_summary(self, summary_id: str, text: str) -> bytes:
        """Encrypt a compaction summary's text (summaries hold conversation text too)."""
        return self.encrypt_field("summary", "content", text, object_id=summary_id)

    def decrypt_summary(self, summary_id: str, value: bytes | str) -> str:
        """Decrypt a compaction summary's text."""
        return self.decrypt_field("summary", "content", value, object_id=summary_id)


class CipherCache:
    """A small thread-safe LRU of :class:`SessionCipher` per session, so reads unwrap once.

    Entries are keyed by session id and checked against the wrapped key, so a session
    re-wrapped by rotation is simply unwrapped again. Call :meth:`forget` when a session
    is deleted.
    """

    def __init__(self, keyring: Keyring, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.keyring = keyring
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[str | bytes, SessionCipher]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str, wrapped: str | bytes) -> SessionCipher:
        """Return the session's cipher, unwrapping its data key on a miss (DecryptionError on failure)."""
        with self._lock:
            hit = self._items.get(session_id)
            if hit is not None and hit[0] == wrapped:
                self._items.move_to_end(session_id)
                return hit[1]
        cipher = SessionCipher.from_wrapped(self.keyring, wrapped, session_id)
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

    def clear(self) -> None:
        """Drop every cipher."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


__all__ = ["CipherCache", "SessionCipher"]
