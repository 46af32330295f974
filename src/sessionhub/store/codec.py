"""The codec seam: every text column the store writes or reads passes through one object.

``PlainCodec`` is the identity (encryption off). ``CryptoCodec`` seals each value with the
owning session's data key (``sessionhub.crypto.SessionCipher``), bound by associated data
to the session id and, for messages, to the message id, seq and field; the stored form is
``"enc1:" + base64`` text. With ``records`` (SQLite, whose columns hold bytes as they are) a
message is sealed as one *record* instead: a single envelope of its content, parts and
metadata, stored as bytes in ``content`` with ``parts`` and ``metadata`` NULL; reading it costs
one AES-GCM call and no base64. Rows of either form are read (a database written before
records, or rows of PostgreSQL, whose TEXT columns keep the three ``"enc1:"`` texts). The
store never touches ``sessionhub.crypto`` itself.

A value is always sealed for the session that *owns the row* (``messages.session_pk``),
which for a fork's shared history is the base session, not the fork. When the store moves
rows to another session (restore branches, fork-safe delete), it calls :meth:`recrypt_*`
in the same transaction: decrypt with the old binding, encrypt with the new one.

What is sealed: message content, parts, metadata; session title, preview, metadata;
checkpoint name and description; summary text. Empty values are sealed too (a NULL or
``""`` where a ciphertext belongs is an error, not an empty field).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..crypto import (
    CipherCache,
    IndexKey,
    Keyring,
    MasterKey,
    SessionCipher,
    index_terms,
    query_terms,
    to_text,
)
from ..crypto.opened import OpenedRecords
from ..errors import DecryptionError
from ..model import Message, NewMessage, Session, Usage
from ._rows import context_keep, dumps_json, from_us, message_from_row, parts_from_json, session_from_row


@dataclass(frozen=True, slots=True)
class RowKey:
    """Which session a row is sealed for: its public id and its wrapped data key."""

    session_id: str
    wrapped: str | None


ColumnOpener = Callable[[str, int, Any, str | None, str | None], tuple[str, str | None, str | None]]
"""``(message_id, seq, content, parts, metadata)`` -> the three columns decrypted (``content``
is text, or a record's bytes)."""


class PlainCodec:
    """Encryption off: values are stored as given."""

    encrypted = False

    def new_key(self, session_id: str) -> str | None:
        """The ``wrapped_key`` of a new session (None: not encrypted)."""
        return None

    def forget(self, session_id: str) -> None:
        """A session was deleted (drop its cached cipher)."""

    # -- sessions -----------------------------------------------------------------------------

    def session(self, row: Any) -> Session:
        """A ``sessions`` row as a Session, its title, preview and metadata decrypted."""
        return session_from_row(row)

    def seal_session(self, key: RowKey, field: str, value: str | None) -> str | None:
        """Encode a session column: ``title`` / ``preview`` (text), ``metadata`` (JSON text or None)."""
        return value

    def open_session(self, key: RowKey, field: str, value: str | None) -> str | None:
        """Decode one session column (the inverse of :meth:`seal_session`)."""
        return value

    def session_text_empty(self, key: RowKey, field: str, value: str | None) -> bool:
        """Whether a ``title`` / ``preview`` column holds the empty text."""
        return not value

    # -- messages -----------------------------------------------------------------------------

    def seal_message(
        self, key: RowKey, message_id: str, seq: int, content: str, parts: str | None, metadata: str | None
    ) -> dict[str, Any]:
        """The ``content``, ``parts`` and ``metadata`` column values of a message row."""
        return {"content": content, "parts": parts, "metadata": metadata}

    def open_content(self, key: RowKey, message_id: str, seq: int, value: str) -> str:
        """A message's content, decrypted."""
        return value

    def message(self, row: Any, session_id: str, key: RowKey) -> Message:
        """A message row (owned by ``key``'s session) as a Message of ``session_id``."""
        return message_from_row(row, session_id)

    def recrypt_message(self, old: RowKey, new: RowKey, row: Any) -> dict[str, Any] | None:
        """Column values re-sealed for ``new`` (None: nothing to change)."""
        return None

    def open_message_columns(
        self, key: RowKey, message_id: str, seq: int, content: str, parts: str | None, metadata: str | None
    ) -> tuple[str, str | None, str | None]:
        """A message's content, parts and metadata columns decoded (parts/metadata None when empty)."""
        return content, parts, metadata

    def message_opener(self, key: RowKey) -> ColumnOpener | None:
        """``open_message_columns`` bound to one session's key, for a page of its messages
        (the session's cipher looked up once); None when there is nothing to open."""
        return None

    # -- checkpoints and summaries ------------------------------------------------------------

    def seal_checkpoint(self, key: RowKey, checkpoint_id: str, name: str, description: str) -> dict[str, str]:
        return {"name": name, "description": description}

    def open_checkpoint(
        self, key: RowKey, checkpoint_id: str, name: str, description: str
    ) -> tuple[str, str]:
        return name, description

    def seal_summary(self, key: RowKey, summary_id: str, text: str) -> str:
        return text

    def open_summary(self, key: RowKey, summary_id: str, value: str) -> str:
        return value

    # -- blind index --------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """Blind-index tokens of a text (none when encryption is off: FTS indexes the text)."""
        return []

    def query_tokens(self, query: str) -> list[str]:
        return []


class CryptoCodec(PlainCodec):
    """Encryption on: AES-256-GCM per session, blind-index tokens for search."""

    encrypted = True

    def __init__(
        self,
        keyring: Keyring,
        index_key: IndexKey,
        wrapping: MasterKey | None = None,
        *,
        records: bool = False,
        read_cache_bytes: int = 0,
    ) -> None:
        self.keyring = keyring
        self.records = records  # seal a message as one record (bytes): see the module docstring
        self.index_key = index_key
        # The master key new data keys are wrapped with: the database's active key (the
        # store confirms it in the inserting transaction and updates this when rotation moves it).
        self.wrapping = wrapping or keyring.current
        # what the session ciphers opened lately: message records (SQLite) and session fields
        opened = OpenedRecords(read_cache_bytes) if read_cache_bytes > 0 else None
        self.cache = CipherCache(keyring, opened=opened)

    def cipher(self, key: RowKey) -> SessionCipher:
        if not key.wrapped:
            raise DecryptionError(
                f"cannot decrypt session {key.session_id}: its data key is missing (the database is "
                "encrypted, but this session row has no wrapped key)"
            )
        return self.cache.get(key.session_id, key.wrapped)

    def new_key(self, session_id: str) -> str | None:
        cipher, wrapped = SessionCipher.create(self.wrapping, session_id, opened=self.cache.opened)
        self.cache.put(session_id, wrapped, cipher)
        return wrapped

    def forget(self, session_id: str) -> None:
        self.cache.forget(session_id)

    def session(self, row: Any) -> Session:
        r = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        key = RowKey(r["id"], r["wrapped_key"])
        for name in ("title", "preview", "metadata"):
            r[name] = self.open_session(key, name, r[name])
        return session_from_row(r)

    def seal_session(self, key: RowKey, field: str, value: str | None) -> str | None:
        return to_text(self.cipher(key).encrypt_field("session", field, value or ""))

    def open_session(self, key: RowKey, field: str, value: str | None) -> str | None:
        text = self.cipher(key).open_session_field(field, _present(value, key, field))
        return text if text or field != "metadata" else None

    def session_text_empty(self, key: RowKey, field: str, value: str | None) -> bool:
        # The envelope's length tells an empty text from a set one without decrypting (GCM
        # does not hide lengths anyway). Only used to skip rewriting a set title/preview on
        # append; anything that is not a well-formed envelope is decrypted (and raises).
        length = SessionCipher.plaintext_length(value)
        if length is None:
            return not self.open_session(key, field, value)
        return length == 0

    def seal_message(
        self, key: RowKey, message_id: str, seq: int, content: str, parts: str | None, metadata: str | None
    ) -> dict[str, Any]:
        cipher = self.cipher(key)
        if self.records:
            record = cipher.seal_record(message_id, seq, content, parts or "", metadata or "")
            return {"content": record, "parts": None, "metadata": None}
        sealed = cipher.seal_message(message_id, seq, content, parts or "", metadata or "")
        return {"content": sealed[0], "parts": sealed[1], "metadata": sealed[2]}

    def open_content(self, key: RowKey, message_id: str, seq: int, value: str | bytes) -> str:
        if type(value) is bytes:
            return self.cipher(key).record_opener()(message_id, seq, value)[0]
        return self.cipher(key).open_message_content(
            message_id, seq, _present(value, key, f"message {message_id}")
        )

    def _open_all(self, key: RowKey, r: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
        mid = r["id"]
        if type(r["content"]) is bytes:
            return self.cipher(key).record_opener()(mid, r["seq"], r["content"])
        where = f"message {mid}"
        return self.cipher(key).open_message(
            mid,
            r["seq"],
            _present(r["content"], key, where),
            _present(r["parts"], key, where),
            _present(r["metadata"], key, where),
        )

    def open_message_columns(
        self,
        key: RowKey,
        message_id: str,
        seq: int,
        content: str | bytes,
        parts: str | None,
        metadata: str | None,
    ) -> tuple[str, str | None, str | None]:
        return self.message_opener(key)(message_id, seq, content, parts, metadata)

    def message_opener(self, key: RowKey) -> ColumnOpener:
        cipher = self.cipher(key)
        open_message = cipher.open_message

        def open_texts(
            message_id: str, seq: int, content: str, parts: str | None, metadata: str | None
        ) -> tuple[str, str | None, str | None]:
            if not (content and parts and metadata):
                where = f"message {message_id}"
                c, p, m = open_message(
                    message_id, seq, *(_present(v, key, where) for v in (content, parts, metadata))
                )
            else:
                c, p, m = open_message(message_id, seq, content, parts, metadata)
            return c, p or None, m or None

        # Records (bytes) open inside the cipher's own call: no extra frame per message.
        return cipher.row_opener(open_texts)

    def message(self, row: Any, session_id: str, key: RowKey) -> Message:
        r = row._mapping
        content, parts, metadata = self._open_all(key, r)
        return Message(
            id=r["id"],
            session_id=session_id,
            seq=r["seq"],
            role=r["role"],
            content=content,
            parts=parts_from_json(parts or None),
            status=r["status"],
            usage=Usage(r["input_tokens"], r["output_tokens"]),
            metadata=json.loads(metadata) if metadata else {},
            created_at=from_us(r["created_at"]),
        )

    def recrypt_message(self, old: RowKey, new: RowKey, row: Any) -> dict[str, Any] | None:
        r = row._mapping
        content, parts, metadata = self._open_all(old, r)
        return self.seal_message(new, r["id"], r["seq"], content, parts, metadata)

    def seal_checkpoint(self, key: RowKey, checkpoint_id: str, name: str, description: str) -> dict[str, str]:
        c = self.cipher(key)
        return {
            "name": to_text(c.encrypt_checkpoint_name(checkpoint_id, name)),
            "description": to_text(c.encrypt_checkpoint_description(checkpoint_id, description)),
        }

    def open_checkpoint(
        self, key: RowKey, checkpoint_id: str, name: str, description: str
    ) -> tuple[str, str]:
        c = self.cipher(key)
        where = f"checkpoint {checkpoint_id}"
        return (
            c.decrypt_checkpoint_name(checkpoint_id, _present(name, key, where)),
            c.decrypt_checkpoint_description(checkpoint_id, _present(description, key, where)),
        )

    def seal_summary(self, key: RowKey, summary_id: str, text: str) -> str:
        return to_text(self.cipher(key).encrypt_summary(summary_id, text))

    def open_summary(self, key: RowKey, summary_id: str, value: str) -> str:
        return self.cipher(key).decrypt_summary(summary_id, _present(value, key, f"summary {summary_id}"))

    def tokens(self, text: str) -> list[str]:
        return index_terms(self.index_key, text)

    def query_tokens(self, query: str) -> list[str]:
        return query_terms(self.index_key, query)


def _present(value: str | bytes | None, key: RowKey, where: str) -> str | bytes:
    if not value:
        raise DecryptionError(
            f"cannot decrypt session {key.session_id} {where}: the value is missing (NULL or empty "
            "where a ciphertext belongs)"
        )
    return value


def own_key_id(*parts: str) -> str:
    """The id a row with a data key of its own (not a session's) binds its key to: ADK app and
    user state, ChatKit attachments. Never a valid session id (it has no ``ses_`` form)."""
    return "\x1f".join(parts)


def message_values(
    codec: PlainCodec, key: RowKey, message_id: str, seq: int, m: NewMessage, created_at_us: int
) -> dict[str, Any]:
    """Every column of a new message row but ``session_pk``: the one source for appends and
    imports (an import once left out ``context_keep`` that the append set)."""
    return {
        "seq": seq,
        "id": message_id,
        "role": m.role,
        **codec.seal_message(
            key,
            message_id,
            seq,
            m.content,
            dumps_json([p.to_dict() for p in m.parts]),
            dumps_json(dict(m.metadata)),
        ),
        "status": m.status,
        "input_tokens": m.usage.input_tokens,
        "output_tokens": m.usage.output_tokens,
        "created_at": created_at_us,
        "context_keep": context_keep(m.role, m.metadata),
    }


__all__ = ["ColumnOpener", "CryptoCodec", "PlainCodec", "RowKey", "message_values", "own_key_id"]
