"""Encryption at rest in the SQL store (``CryptoSQLMixin``, part of ``SQLStore``).

- At open: the ``meta`` row ``index_secret`` (the blind-index secret wrapped by the master
  key) is the marker of an encrypted database. Opening with a key unwraps it, so a wrong
  key fails at once; opening an encrypted database without a key is a ConfigError; turning
  encryption on for a database that already holds plaintext sessions is refused.
- ``_session`` / ``_key_of`` / ``_row_key``: the codec's view of a row (see ``codec.py``).
- The blind index, written in the same transaction as the text and searched by
  search_sql.py: ``search_terms`` rows (token, session_pk, message_pk or NULL for the title)
  for titles, and for messages on PostgreSQL (moved with the rows); on SQLite a message's
  tokens are one ``message_tokens`` (FTS5) row keyed by its pk (migration 0017).
- ``_move_messages`` / ``_move_checkpoints``: the only place rows change owner; encrypted
  values are re-sealed for the new session (their AAD names the session).
- The *active* master key: the one that wraps the index secret. Every new data key is
  wrapped with it, confirmed in the transaction that inserts the session row
  (``_insert_session``: the marker row is read ``FOR SHARE`` on PostgreSQL; SQLite has one
  writer), so a rotation's switch waits for sessions being created and every session created
  after it uses the new key, or is refused (``KeyUnavailable``) by a server without that key.
- ``rotate_keys``: first switches the active key (re-wraps the index secret and commits), then
  re-wraps the data keys of sessions wrapped by any other master key, one session per
  transaction with a compare-and-set, resumable. When it reports 0 remaining, no session is
  wrapped by the old key and none can be any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..crypto import (
    IndexKey,
    new_index_secret,
    rewrap_data_key,
    rewrap_index_secret,
    unwrap_index_secret,
    wrap_index_secret,
    wrapped_key_id,
)
from ..errors import ConfigError
from ..model import Session
from ._db import SQLBase
from ._rows import sqlite_cursor
from .codec import CryptoCodec, PlainCodec, RowKey, own_key_id
from .fastpath import DELETE_TOKENS_SQL, INSERT_TERM_SQL, INSERT_TOKENS_SQL
from .schema import (
    adk_app_state,
    adk_user_state,
    chatkit_attachments,
    checkpoints,
    messages,
    meta,
    search_terms,
    sessions,
)

# Rows with a data key of their own (wrapped_key), and the id each key is bound to: rotation
# re-wraps them after the sessions' keys (the adapters' tables, adk_sql.py and chatkit_sql.py).
OWN_KEY_ROWS: tuple[tuple[Any, tuple[str, ...], tuple[str, ...]], ...] = (
    (adk_app_state, ("adk", "app"), ("owner", "app_name")),
    (adk_user_state, ("adk", "user"), ("owner", "app_name", "user_id")),
    (chatkit_attachments, ("chatkit", "attachment"), ("owner", "user_id", "attachment_id")),
)

T = TypeVar("T")

MARKER = "index_secret"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one ``rotate_keys`` call did: sessions re-wrapped now, and still to do."""

    rewrapped: int
    remaining: int
    index_secret_rewrapped: bool
    key_id: str


class CryptoSQLMixin(SQLBase):
    """Codec plumbing, blind index, row moves and key rotation for ``SQLStore``."""

    # -- open -------------------------------------------------------------------------------

    def _open_sync(self) -> None:
        super()._open_sync()
        self._setup_encryption()

    def _setup_encryption(self) -> None:
        """Check the key against the database's marker and build the codec (at open)."""
        with self._write() as conn:
            wrapped = conn.execute(select(meta.c.value).where(meta.c.name == MARKER)).scalar()
            if self.keyring is None:
                if wrapped is not None:
                    raise ConfigError(
                        "this database is encrypted; configure its master key ([encryption] key_env "
                        "or key_file, or encryption_key=)"
                    )
                self.codec = PlainCodec()
                return
            if wrapped is None:
                if conn.execute(select(sessions.c.pk).limit(1)).first() is not None:
                    raise ConfigError(
                        "this database already holds unencrypted sessions; encryption can only be "
                        "turned on for a new database (export the sessions and import them into a "
                        "new, encrypted database)"
                    )
                wrapped = wrap_index_secret(self.keyring.current, new_index_secret())
                try:
                    with conn.begin_nested():
                        conn.execute(insert(meta).values(name=MARKER, value=wrapped))
                        conn.execute(insert(meta).values(name="encryption", value="aes-256-gcm v1"))
                except IntegrityError:  # another process won the race: use its secret
                    wrapped = conn.execute(select(meta.c.value).where(meta.c.name == MARKER)).scalar_one()
        # A wrong key fails here, before anything is read (DecryptionError naming the key id).
        secret = unwrap_index_secret(self.keyring, wrapped)
        active = self.keyring.wrapping_key(wrapped_key_id(wrapped))
        # SQLite stores each message as one sealed record (bytes); PostgreSQL's TEXT columns
        # keep the three "enc1:" texts (codec.py).
        self.codec = CryptoCodec(
            self.keyring,
            IndexKey.from_secret(secret),
            wrapping=active,
            records=self.dialect == "sqlite",
            read_cache_bytes=self.read_cache_bytes,
        )

    # -- new sessions -----------------------------------------------------------------------

    def _insert_session(self, conn: Connection, values: dict[str, Any]) -> int:
        """Insert a ``sessions`` row (its pk), its data key confirmed under the active master key.

        The key was wrapped beforehand with the active key as this process last saw it
        (``codec.wrapping``); if a rotation switched the active key since, it is re-wrapped
        here with the new one, or KeyUnavailable is raised when this server does not hold it.
        Only session creation pays for this (one primary-key read); appends wrap nothing.
        """
        wrapped = values.get("wrapped_key")
        if isinstance(self.codec, CryptoCodec) and wrapped is not None:
            values["wrapped_key"] = self._confirm_wrapping(conn, self.codec, values["id"], wrapped)
        return int(conn.execute(insert(sessions).values(**values).returning(sessions.c.pk)).scalar_one())

    def _confirm_wrapping(self, conn: Connection, codec: CryptoCodec, session_id: str, wrapped: str) -> str:
        # FOR SHARE: rotation's switch (an UPDATE of this row) waits until this transaction
        # commits, so it cannot report a key retired while a session is being wrapped with it.
        marker = conn.execute(
            select(meta.c.value).where(meta.c.name == MARKER).with_for_update(read=True)
        ).scalar_one()
        active = wrapped_key_id(marker)
        if wrapped_key_id(wrapped, session_id=session_id) == active:
            return wrapped
        master = codec.keyring.wrapping_key(active)  # KeyUnavailable: this server's key was retired
        codec.wrapping = master
        return rewrap_data_key(codec.keyring, wrapped, session_id, to=master)

    # -- rows -------------------------------------------------------------------------------

    def _session(self, row: Any) -> Session:
        return self.codec.session(row)

    @staticmethod
    def _row_key(row: Any) -> RowKey:
        return RowKey(row.id, row.wrapped_key)

    def _key_of(self, conn: Connection, pk: int) -> RowKey:
        """The key of the session row ``pk`` (no query when encryption is off)."""
        if not self.codec.encrypted:
            return RowKey("", None)
        r = conn.execute(select(sessions.c.id, sessions.c.wrapped_key).where(sessions.c.pk == pk)).one()
        return RowKey(r.id, r.wrapped_key)

    def _keys_of(self, conn: Connection, pks: Sequence[int], known: Any = None) -> dict[int, RowKey]:
        keys: dict[int, RowKey] = {}
        if known is not None:
            keys[known.pk] = self._row_key(known)
        for pk in pks:
            if pk not in keys:
                keys[pk] = self._key_of(conn, pk)
        return keys

    # -- blind index ------------------------------------------------------------------------

    def _insert_terms(self, conn: Connection, rows: list[tuple[str, int, int | None]]) -> None:
        """``search_terms`` rows ``(token, session_pk, message_pk)``: titles (message_pk None),
        and messages on PostgreSQL. On SQLite through the driver cursor."""
        if not rows:
            return
        if self.dialect == "sqlite":
            sqlite_cursor(conn).executemany(INSERT_TERM_SQL, rows)
            return
        for i in range(0, len(rows), _CHUNK * 10):
            conn.execute(
                insert(search_terms),
                [{"token": t, "session_pk": s, "message_pk": m} for t, s, m in rows[i : i + _CHUNK * 10]],
            )

    def _index_messages(
        self,
        conn: Connection,
        session_pk: int,
        first_seq: int,
        contents: Sequence[str],
        pks: Sequence[int] | None = None,
    ) -> None:
        """Index messages just inserted at ``first_seq…`` of ``session_pk`` (encrypted only).

        ``pks``: the new rows' pks in the order of ``contents`` (from INSERT … RETURNING);
        looked up by seq when not given.

        SQLite: one ``message_tokens`` (FTS5) row per message, its tokens joined by spaces
        (migration 0017: an encrypted append's store time 390 -> ~250 us and under half the
        file, against a ``search_terms`` row per token). PostgreSQL: ``search_terms`` rows.
        """
        if not self.codec.encrypted or not contents:
            return
        if pks is None or len(pks) != len(contents):
            found = conn.execute(
                select(messages.c.seq, messages.c.pk).where(
                    messages.c.session_pk == session_pk,
                    messages.c.seq >= first_seq,
                    messages.c.seq < first_seq + len(contents),
                )
            ).all()
            by_seq = {int(r.seq): int(r.pk) for r in found}
            pks = [by_seq[first_seq + i] for i in range(len(contents))]
        tokens = [self.codec.tokens(c) for c in contents]
        if self.dialect == "sqlite":
            rows = [(pk, " ".join(ts)) for pk, ts in zip(pks, tokens, strict=True) if ts]
            if rows:
                sqlite_cursor(conn).executemany(INSERT_TOKENS_SQL, rows)
        else:
            self._insert_terms(
                conn, [(t, session_pk, pk) for pk, ts in zip(pks, tokens, strict=True) for t in ts]
            )

    def _reindex_message(self, conn: Connection, session_pk: int, message_pk: int, value: str) -> None:
        if not self.codec.encrypted:
            return
        if self.dialect == "sqlite":
            sqlite_cursor(conn).execute(DELETE_TOKENS_SQL, (message_pk,))
        else:
            conn.execute(delete(search_terms).where(search_terms.c.message_pk == message_pk))
        self._index_messages(conn, session_pk, 0, [value], [message_pk])

    def _reindex_title(self, conn: Connection, session_pk: int, title: str) -> None:
        if not self.codec.encrypted:
            return
        conn.execute(
            delete(search_terms).where(
                search_terms.c.session_pk == session_pk, search_terms.c.message_pk.is_(None)
            )
        )
        self._insert_terms(conn, [(t, session_pk, None) for t in self.codec.tokens(title)])

    # -- message rewrites (streaming replies, turns_sql.py) -----------------------------------

    def _reindex_at(self, conn: Connection, session_pk: int, seq: int, content: str) -> None:
        """Re-index the message at ``seq`` of ``session_pk`` after its content changed."""
        if not self.codec.encrypted:
            return
        pk = conn.execute(
            select(messages.c.pk).where(messages.c.session_pk == session_pk, messages.c.seq == seq)
        ).scalar_one()
        self._reindex_message(conn, session_pk, pk, content)

    # -- moves ------------------------------------------------------------------------------

    def _move_messages(self, conn: Connection, old_pk: int, new_pk: int, *conds: Any) -> None:
        """``UPDATE messages SET session_pk = new_pk WHERE session_pk = old_pk AND conds``, re-sealing."""
        where = and_(messages.c.session_pk == old_pk, *conds)
        if not self.codec.encrypted:
            conn.execute(update(messages).where(where).values(session_pk=new_pk))
            return
        old, new = self._key_of(conn, old_pk), self._key_of(conn, new_pk)
        rows = conn.execute(
            select(
                messages.c.pk,
                messages.c.id,
                messages.c.seq,
                messages.c.content,
                messages.c.parts,
                messages.c.metadata,
            )
            .where(where)
            .order_by(messages.c.seq)
        ).all()
        stmt = (
            update(messages)
            .where(messages.c.pk == bindparam("k"))
            .values(
                session_pk=new_pk,
                content=bindparam("c"),
                parts=bindparam("p"),
                metadata=bindparam("m"),
            )
        )
        for i in range(0, len(rows), _CHUNK):
            chunk = rows[i : i + _CHUNK]
            params = []
            for r in chunk:
                sealed = self.codec.recrypt_message(old, new, r)
                assert sealed is not None
                params.append(
                    {"k": r.pk, "c": sealed["content"], "p": sealed["parts"], "m": sealed["metadata"]}
                )
            conn.execute(stmt, params)
            if self.dialect != "sqlite":  # SQLite's message_tokens know the message, not the session
                conn.execute(
                    update(search_terms)
                    .where(search_terms.c.message_pk.in_([r.pk for r in chunk]))
                    .values(session_pk=new_pk)
                )

    def _move_checkpoints(self, conn: Connection, old_pk: int, new_pk: int, *conds: Any) -> None:
        """Move checkpoints to another session, re-sealing name and description."""
        where = and_(checkpoints.c.session_pk == old_pk, *conds)
        if not self.codec.encrypted:
            conn.execute(update(checkpoints).where(where).values(session_pk=new_pk))
            return
        old, new = self._key_of(conn, old_pk), self._key_of(conn, new_pk)
        for r in conn.execute(
            select(checkpoints.c.pk, checkpoints.c.id, checkpoints.c.name, checkpoints.c.description).where(
                where
            )
        ).all():
            name, description = self.codec.open_checkpoint(old, r.id, r.name, r.description)
            conn.execute(
                update(checkpoints)
                .where(checkpoints.c.pk == r.pk)
                .values(session_pk=new_pk, **self.codec.seal_checkpoint(new, r.id, name, description))
            )

    # -- rotation ---------------------------------------------------------------------------

    async def rotate_keys(self, limit: int | None = None) -> RotationReport:
        """Re-wrap up to ``limit`` sessions (all when None) under the current master key."""
        return await self._run(self._rotate_keys, limit)

    def _rotate_keys(self, limit: int | None) -> RotationReport:
        if not isinstance(self.codec, CryptoCodec) or self.keyring is None:
            raise ConfigError("this database is not encrypted; there is nothing to rotate")
        keyring = self.keyring
        current = keyring.current.key_id
        index_done = False
        # First make the new key the active one (it wraps the index secret) and commit: from
        # then on every new session is wrapped with it (or refused by a server lacking it), so
        # the walk below leaves no session under the old key behind it.
        with self._write() as conn:
            wrapped = conn.execute(select(meta.c.value).where(meta.c.name == MARKER)).scalar_one()
            if wrapped_key_id(wrapped) != current:
                conn.execute(
                    update(meta)
                    .where(meta.c.name == MARKER, meta.c.value == wrapped)
                    .values(value=rewrap_index_secret(keyring, wrapped))
                )
                index_done = True
        self.codec.wrapping = keyring.current
        done = 0
        after = 0
        while limit is None or done < limit:
            with self._read() as conn:
                batch = conn.execute(
                    select(sessions.c.pk, sessions.c.id, sessions.c.wrapped_key)
                    .where(sessions.c.pk > after, sessions.c.wrapped_key.isnot(None))
                    .order_by(sessions.c.pk)
                    .limit(_CHUNK)
                ).all()
            if not batch:
                break
            after = batch[-1].pk
            for r in batch:
                if limit is not None and done >= limit:
                    break
                if wrapped_key_id(r.wrapped_key, session_id=r.id) == current:
                    continue
                new = rewrap_data_key(keyring, r.wrapped_key, r.id)
                with self._write() as conn:  # one session per transaction, compare-and-set
                    res = conn.execute(
                        update(sessions)
                        .where(sessions.c.pk == r.pk, sessions.c.wrapped_key == r.wrapped_key)
                        .values(wrapped_key=new)
                    )
                if res.rowcount:
                    done += 1
                    self.codec.forget(r.id)
        done += self._rotate_own_keys(current, None if limit is None else limit - done)
        return RotationReport(done, self._remaining(current), index_done, current)

    def _rotate_own_keys(self, current: str, limit: int | None) -> int:
        """Re-wrap the data keys of ``OWN_KEY_ROWS`` (one compare-and-set per row)."""
        assert self.keyring is not None
        done = 0
        for table, prefix, columns in OWN_KEY_ROWS:
            cols = [table.c[c] for c in columns]
            with self._read() as conn:
                rows = conn.execute(
                    select(*cols, table.c.wrapped_key).where(table.c.wrapped_key.isnot(None))
                ).all()
            for r in rows:
                if limit is not None and done >= limit:
                    return done
                ident = own_key_id(*prefix, *(getattr(r, c) for c in columns))
                if wrapped_key_id(r.wrapped_key, session_id=ident) == current:
                    continue
                new = rewrap_data_key(self.keyring, r.wrapped_key, ident)
                where = [table.c[c] == getattr(r, c) for c in columns]
                with self._write() as conn:
                    res = conn.execute(
                        update(table)
                        .where(*where, table.c.wrapped_key == r.wrapped_key)
                        .values(wrapped_key=new)
                    )
                if res.rowcount:
                    done += 1
                    self.codec.forget(ident)
        return done

    def _confirm_own_key(self, conn: Connection, ident: str, wrapped: str | None) -> str | None:
        """A new own-key row's wrapped key, confirmed under the active master key (as sessions')."""
        if not isinstance(self.codec, CryptoCodec) or wrapped is None:
            return wrapped
        return self._confirm_wrapping(conn, self.codec, ident, wrapped)

    def _remaining(self, current: str) -> int:
        count = 0
        with self._read() as conn:
            for (wrapped,) in conn.execute(
                select(sessions.c.wrapped_key).where(sessions.c.wrapped_key.isnot(None))
            ).all():
                count += wrapped_key_id(wrapped) != current
            for table, _prefix, _columns in OWN_KEY_ROWS:
                for (wrapped,) in conn.execute(
                    select(table.c.wrapped_key).where(table.c.wrapped_key.isnot(None))
                ).all():
                    count += wrapped_key_id(wrapped) != current
            marker = conn.execute(select(meta.c.value).where(meta.c.name == MARKER)).scalar()
        return count + int(marker is not None and wrapped_key_id(marker) != current)

    async def encryption_status(self) -> dict[str, Any]:
        """Whether the database is encrypted, its active master key id (the one that wraps new
        sessions), this process's current key id and sessions per master key id."""
        return await self._run(self._encryption_status)

    def _encryption_status(self) -> dict[str, Any]:
        by_key: dict[str, int] = {}
        with self._read() as conn:
            marker = conn.execute(select(meta.c.value).where(meta.c.name == MARKER)).scalar()
            plain = conn.execute(
                select(func.count()).select_from(sessions).where(sessions.c.wrapped_key.is_(None))
            ).scalar_one()
            for (wrapped,) in conn.execute(
                select(sessions.c.wrapped_key).where(sessions.c.wrapped_key.isnot(None))
            ).all():
                kid = wrapped_key_id(wrapped)
                by_key[kid] = by_key.get(kid, 0) + 1
        return {
            "encrypted": marker is not None,
            "active_key_id": wrapped_key_id(marker) if marker is not None else None,
            "current_key_id": self.keyring.current.key_id if self.keyring is not None else None,
            "sessions_by_key_id": by_key,
            "unencrypted_sessions": int(plain),
        }


__all__ = ["MARKER", "OWN_KEY_ROWS", "CryptoSQLMixin", "RotationReport"]
