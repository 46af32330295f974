"""The environment of a sessionhub process a test starts (a server, the console script, the CLI).

None of the caller's ``SESSIONHUB_*`` variables leak in, and semantic search is off
(``SESSIONHUB_SEARCH_SEMANTIC=0``): with it on, every server embeds every message it stores in
a background thread, which was a third of the suite's CPU (measured: ~9 -> ~6 minutes of CPU
for the parallel run) for tests that never search by meaning. The tests of semantic search
turn it back on (``SESSIONHUB_SEARCH_SEMANTIC="1"`` in ``extra``) or run it in-process.
``tests/`` is on ``sys.path``: ``from _env import child_env``.
"""

from __future__ import annotations

import os

SEMANTIC_OFF = {"SESSIONHUB_SEARCH_SEMANTIC": "0"}


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ``SESSIONHUB_*``, semantic search off, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONHUB_")}
    env.update(SEMANTIC_OFF)
    env.update(extra)
    return env
