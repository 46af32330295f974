"""Export one session in a fresh process and report its peak memory.

``python -m bench.export_probe PEER ROOT SESSION_ID`` opens the peer's store at ``ROOT``,
exports the session as JSON to a temporary file, and prints one JSON line: the resident set
before the export (after imports and open), the peak (``VmHWM``), the bytes
written and the seconds taken, or the error. A fresh process per export keeps one store's
memory from hiding another's.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from .measure import Unsupported
from .peers import PEERS


def _rss_mib(field: str = "VmHWM") -> float:
    """This process's peak (``VmHWM``) or current (``VmRSS``) resident set in MiB.

    Read from /proc: unlike ``ru_maxrss``, ``VmHWM`` starts afresh at exec, so the parent's
    memory at fork time is not counted.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def probe(peer_key: str, root: Path, session_id: str) -> dict[str, object]:
    peer = PEERS[peer_key](root)
    async with peer:
        before = _rss_mib("VmRSS")
        with tempfile.TemporaryFile("w+b") as out:
            t0 = time.perf_counter()
            await peer.export(session_id, out)
            seconds = time.perf_counter() - t0
            written = out.tell()
    return {"before_mib": before, "peak_mib": _rss_mib(), "bytes": written, "seconds": seconds}


def main() -> int:
    peer_key, root, session_id = sys.argv[1:4]
    try:
        result = asyncio.run(probe(peer_key, Path(root), session_id))
    except Unsupported as exc:
        result = {"unsupported": str(exc)}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
