"""One module per source format; each has ``NAME``, ``sniff(path)``, ``discover(path)``, ``read(path)``.

``discover`` lists the session units (files) under a path; ``read`` parses one unit
completely or raises ``InvalidInput``; ``sniff`` says whether a path looks like the format.
"""

from __future__ import annotations

from . import ai_lab, openclaw, picoclaw, pocketpaw, sessionhub

__all__ = ["ai_lab", "openclaw", "picoclaw", "pocketpaw", "sessionhub"]
