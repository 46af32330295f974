"""The sessionhub benchmark: sessionhub against its peers, side by side in one run.

``python -m bench.run`` (or ``make bench`` / ``make bench-quick``) generates deterministic chat
data, loads it into every store, measures the figures of DESIGN.md's performance table and
rewrites ``bench/RESULTS.md``.

Modules:

- ``datagen``: deterministic, realistic chat text (Zipf-distributed English words, code, JSON).
- ``peers``: one adapter per store with the same small async interface.
- ``datasets``: builds and caches the loaded stores under ``bench/data/`` (gitignored).
- ``measure``: timing and statistics.
- ``figures``: one function per figure of the performance table.
- ``report``: machine facts and the Markdown report.
- ``run``: the command line.
"""
