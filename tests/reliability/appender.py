"""A child process of the reliability tests: append messages in a loop, print each ack.

    python appender.py URL SESSION_IDS(comma-separated) TAG COUNT [--keep-going] [--pad=N]

Prints ``ack <session_id> <seq> <content>`` once ``hub.add_message`` has returned (the
append is committed), ``err <ErrorClass> <message>`` for a failed append (with
``--keep-going`` the loop goes on after a short pause, else exits 1) and ``done`` at the
end. COUNT 0 means forever (until killed). ``--pad=N`` appends a space and N filler
characters to each message (the ack prints the first word only).
"""

from __future__ import annotations

import asyncio
import sys

import sessionhub


async def main(url: str, sessions: list[str], tag: str, count: int, keep_going: bool, pad: int) -> int:
    out = sys.stdout
    async with sessionhub.open(url) as hub:
        out.write("ready\n")
        out.flush()
        i = 0
        while count == 0 or i < count:
            sid = sessions[i % len(sessions)]
            content = f"{tag}-{i}"
            try:
                msg = await hub.add_message(sid, "user", content + (" " + "y" * pad if pad else ""))
            except Exception as exc:
                out.write(f"err {type(exc).__name__} {' '.join(str(exc).split())[:200]}\n")
                out.flush()
                if not keep_going:
                    return 1
                await asyncio.sleep(0.05)
            else:
                out.write(f"ack {sid} {msg.seq} {content}\n")
                out.flush()
            i += 1
    out.write("done\n")
    out.flush()
    return 0


if __name__ == "__main__":
    url, ids, tag, count = sys.argv[1], sys.argv[2].split(","), sys.argv[3], int(sys.argv[4])
    flags = sys.argv[5:]
    pad = next((int(f.split("=", 1)[1]) for f in flags if f.startswith("--pad=")), 0)
    sys.exit(asyncio.run(main(url, ids, tag, count, "--keep-going" in flags, pad)))
