"""Benchmarks for interleave-sdk (``make bench`` / ``python -m benchmarks``); not part of the tests.

Each case returns a dict of figures; ``__main__`` prints them as a table and writes
``bench-results/bench.json``. Timings are wall-clock, taken side by side in one run.
"""
