"""The REST floor: a bare Starlette app over sqlite3 doing the work of a sessionhub append.

``python -m bench.floor_app --port N --database PATH`` serves, on the same stack as
``sessionhub serve`` (uvicorn, one worker, uvloop when installed):

- ``GET /api/health``;
- ``POST /api/sessions`` → ``{"id": …}``;
- ``POST /api/sessions/{id}/messages`` with ``{"role", "content"}`` → 201 with the stored
  message: one transaction on one sqlite3 connection, run on the event loop (no thread hop):
  read the session's count, insert the message row (an FTS5 row by trigger, as sessionhub
  indexes it), update the session's count and activity time.

Same durability as the sessionhub server (WAL, ``synchronous=NORMAL``). What it leaves out is
what sessionhub adds on top: authentication, Host/Origin checks, body limits, strict
validation of roles and lengths, typed values, the owner check, change events, group commit.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    pk INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, message_count INTEGER NOT NULL DEFAULT 0,
    activity_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    pk INTEGER PRIMARY KEY, session_pk INTEGER NOT NULL REFERENCES sessions (pk), seq INTEGER NOT NULL,
    id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL,
    UNIQUE (session_pk, seq));
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='pk');
CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.pk, new.content); END;
"""


def build(path: str) -> Starlette:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def new_session(_request: Request) -> Response:
        sid = f"s_{uuid.uuid4().hex}"
        db.execute("INSERT INTO sessions (id, activity_at) VALUES (?, ?)", (sid, time.time_ns() // 1000))
        return JSONResponse({"id": sid}, status_code=201)

    async def append(request: Request) -> Response:
        body = json.loads(await request.body())
        role, content = body["role"], body["content"]
        now = time.time_ns() // 1000
        mid = f"msg_{uuid.uuid4().hex}"
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT pk, message_count FROM sessions WHERE id = ?", (request.path_params["sid"],)
            ).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return JSONResponse({"error": "not found"}, status_code=404)
            pk, seq = row[0], row[1] + 1
            db.execute(
                "INSERT INTO messages (session_pk, seq, id, role, content, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (pk, seq, mid, role, content, now),
            )
            db.execute("UPDATE sessions SET message_count = ?, activity_at = ? WHERE pk = ?", (seq, now, pk))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        message = {"id": mid, "seq": seq, "role": role, "content": content, "created_at": now}
        return JSONResponse({"messages": [message]}, status_code=201)

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/api/sessions", new_session, methods=["POST"]),
            Route("/api/sessions/{sid}/messages", append, methods=["POST"]),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.floor_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True, help="SQLite file")
    args = parser.parse_args()
    uvicorn.run(build(args.database), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
