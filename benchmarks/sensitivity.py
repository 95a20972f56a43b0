"""Sensitivity benchmark: interleaving against A/B on simulated users (about 10 minutes on 2 cores).

Run from the repository root: ``python benchmarks/sensitivity.py [--out DIR]``. The study itself
lives in ``interleave_sdk.simulation.sensitivity``; docs/sensitivity.md records a measured table.
"""

from __future__ import annotations

from interleave_sdk.simulation.sensitivity import main

if __name__ == "__main__":
    raise SystemExit(main())
