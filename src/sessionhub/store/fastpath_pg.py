"""The store's hot-path statements on PostgreSQL, compiled once for psycopg.

As on SQLite (fastpath.py), each statement is built from SQLAlchemy Core over ``schema.py``'s
tables and compiled at import, so the text the append runs on psycopg's cursor *is* the
compiled statement; ``tests/core/test_fastpath.py`` checks it against SQLite's.

- ``APPEND_PG``: a whole plaintext append in one statement and one round trip.
- ``SESSION_FOR_UPDATE_PG`` and ``APPEND_COUNTERS_PG``: the encrypted append's row lock and
  counters (its sealed rows need their seq, and the blind index their pks, before the insert).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    SmallInteger,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from .fastpath import APPEND_CHANGES, APPEND_COUNTERS, INSERT_MESSAGE_COLUMNS, SESSION_BY_ID
from .schema import messages, sessions

_POSTGRES = postgresql_psycopg.dialect()  # type: ignore[no-untyped-call]


def postgres_text(statement: ClauseElement, column_keys: Sequence[str] | None = None) -> str:
    """The SQL of a Core statement as psycopg runs it, with ``%(name)s`` parameters (and the
    casts SQLAlchemy's psycopg dialect writes after them). Statements with literals of their
    own are refused: the caller passes exactly the parameters it named."""
    compiled = statement.compile(
        dialect=_POSTGRES, column_keys=list(column_keys) if column_keys else None, for_executemany=True
    )  # for_executemany: no implicit RETURNING of the primary key
    assert isinstance(compiled, SQLCompiler)
    for bind in compiled.bind_names:
        if bind.unique and bind.value is not None:
            raise TypeError(f"unexpected literal {bind.value!r} in {compiled.string!r}")
    return compiled.string


SESSION_FOR_UPDATE_PG = postgres_text(SESSION_BY_ID.with_for_update())
APPEND_COUNTERS_PG = postgres_text(APPEND_COUNTERS)


def _append_in_one_statement() -> Select[Any]:
    """A whole plaintext append on PostgreSQL as one statement: the session row locked, the
    message rows numbered from its count, the counters updated.

    ``locked`` takes the row ``FOR UPDATE`` (a concurrent append waits, then reads the count
    that one committed), ``inserted`` numbers the new rows ``message_count + 1 ..`` from the
    arrays ``:v_<column>`` (one element per message, ``unnest … WITH ORDINALITY``), and
    ``counted`` applies ``APPEND_CHANGES``, the preview and auto title computed
    from the row as it was (``:b_preview`` / ``:b_title`` fill them only while empty). Both
    write nothing for an archived session. The statement answers the count before the append
    and the status; no row means no such session of this owner. Atomic on its own, so it runs
    in autocommit: one round trip, no BEGIN or COMMIT.
    """
    locked = (
        select(sessions.c.pk, sessions.c.message_count, sessions.c.status)
        .where(sessions.c.id == bindparam("session_id"), sessions.c.owner == bindparam("owner"))
        .with_for_update()
        .cte("locked")
    )
    columns = INSERT_MESSAGE_COLUMNS[2:]  # from the arrays: all but session_pk and seq
    types = {
        "input_tokens": Integer,
        "output_tokens": Integer,
        "created_at": BigInteger,
        "context_keep": SmallInteger,
    }
    new = (
        func.unnest(*(cast(bindparam(f"v_{c}"), ARRAY(types.get(c, Text))) for c in columns))
        .table_valued(*columns, with_ordinality="n")
        .render_derived(name="new")
    )
    writable = locked.c.status != literal_column("'archived'")
    inserted = (
        insert(messages)
        .from_select(
            INSERT_MESSAGE_COLUMNS,
            select(locked.c.pk, locked.c.message_count + new.c.n, *(new.c[c] for c in columns)).where(
                writable
            ),
        )
        .cte("inserted")
    )
    empty = literal_column("''", Text)
    counted = (
        update(sessions)
        .where(sessions.c.pk == locked.c.pk, writable)
        .values(
            message_count=locked.c.message_count + bindparam("b_n"),
            **APPEND_CHANGES,
            preview=case(
                (sessions.c.preview == empty, func.coalesce(bindparam("b_preview", type_=Text()), empty)),
                else_=sessions.c.preview,
            ),
            title=case(
                (
                    and_(
                        sessions.c.preview == empty,
                        sessions.c.title_source == literal_column("'auto'"),
                        sessions.c.title == empty,
                    ),
                    func.coalesce(bindparam("b_title", type_=Text()), empty),
                ),
                else_=sessions.c.title,
            ),
        )
        .cte("counted")
    )
    return select(locked.c.message_count, locked.c.status).add_cte(inserted, counted)


APPEND_PG = postgres_text(_append_in_one_statement())
"""``_append_in_one_statement`` for psycopg."""


__all__ = ["APPEND_COUNTERS_PG", "APPEND_PG", "SESSION_FOR_UPDATE_PG", "postgres_text"]
