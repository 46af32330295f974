"""schemathesis with a larger budget: tests/server/test_schemathesis.py rerun in soak mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SOAK

EXAMPLES = os.environ.get("SESSIONHUB_SOAK_SCHEMATHESIS_EXAMPLES", "150")


@pytest.mark.slow
@pytest.mark.skipif(
    not SOAK, reason="soak only (make soak); make test runs tests/server/test_schemathesis.py"
)
def test_api_conforms_to_its_schema_with_a_larger_budget(tmp_path: Path) -> None:
    """The schemathesis run of tests/server (no 5xx, no schema violation) with 150 examples per
    operation instead of 15 (``SESSIONHUB_SOAK_SCHEMATHESIS_EXAMPLES``)."""
    tests = Path(__file__).parent.parent
    env = {**os.environ, "SESSIONHUB_SCHEMATHESIS_EXAMPLES": EXAMPLES}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run"),
         str(tests / "server" / "test_schemathesis.py")],
        capture_output=True, text=True, env=env, cwd=tests.parent, timeout=3600,
    )  # fmt: skip
    print(done.stdout[-2000:])
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
