"""Case 4: Team Draft on plain id lists — the SDK's method against a straightforward reference.

The reference is the textbook loop (list membership scans, a coin per tie) written here for
comparison only. mpkato/interleaving is timed too when it is importable (install it from its
GitHub repository; ``--install-mpkato`` tries that into a temporary directory). The package
called ``interleaving`` on PyPI is a different, unrelated project; it is detected and reported.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import random
import subprocess
import sys
import tempfile
from collections.abc import Hashable, Sequence
from typing import Any

from interleave_sdk import interleave

from .timing import side_by_side, summary, timed

MPKATO_SOURCE = "git+https://github.com/mpkato/interleaving.git"


def reference_team_draft(
    a: Sequence[Hashable], b: Sequence[Hashable], k: int, rng: random.Random
) -> list[Hashable]:
    """Team Draft as usually written: scan each list for its best item not yet in the result."""
    result: list[Hashable] = []
    picks_a = picks_b = 0
    while len(result) < k:
        left_a = [x for x in a if x not in result]
        left_b = [x for x in b if x not in result]
        if not left_a and not left_b:
            break
        a_turn = picks_a < picks_b or (picks_a == picks_b and rng.random() < 0.5)
        if (a_turn and left_a) or not left_b:
            result.append(left_a[0])
            picks_a += 1
        else:
            result.append(left_b[0])
            picks_b += 1
    return result


def _lists(rows: int) -> tuple[list[str], list[str]]:
    rng = random.Random(rows)
    a = [f"item-{i}" for i in range(rows)]
    b = [f"item-{i}" for i in range(rows // 2, rows // 2 + rows)]
    rng.shuffle(a)
    rng.shuffle(b)
    return a, b


def mpkato_status(install: bool) -> tuple[Any, str]:
    """The mpkato TeamDraft class if usable, and a sentence saying what was found."""
    if install:
        target = tempfile.mkdtemp(prefix="mpkato-")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                target,
                MPKATO_SOURCE,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            return None, f"could not install {MPKATO_SOURCE}: {done.stderr.strip()[-300:]}"
        sys.path.insert(0, target)
    try:
        module = importlib.import_module("interleaving")
    except ImportError:
        return None, (
            "mpkato/interleaving is not installed (it is not on PyPI; the PyPI project named "
            "'interleaving' is an unrelated placeholder). Run with --install-mpkato where "
            "GitHub is reachable."
        )
    team_draft = getattr(module, "TeamDraft", None)
    if team_draft is None:
        try:
            meta = importlib.metadata.metadata("interleaving")
            who = f"{meta['Name']} {meta['Version']} by {meta['Author-email'] or meta['Author']}"
        except importlib.metadata.PackageNotFoundError:
            who = "an unknown module"
        return None, f"the installed 'interleaving' is {who}, not mpkato's (no TeamDraft class)"
    return team_draft, "mpkato/interleaving TeamDraft"


def _variants(a: list[str], b: list[str], k: int, team_draft_cls: Any) -> dict[str, Any]:
    """The implementations to time on one input, each drawing from its own seeded generator."""
    rng_sdk, rng_ref = random.Random(1), random.Random(1)
    variants = {
        "interleave_sdk": lambda: interleave("team_draft_v1", {"A": a, "B": b}, k, rng_sdk),
        "reference": lambda: reference_team_draft(a, b, k, rng_ref),
    }
    if team_draft_cls is not None:
        variants["mpkato"] = lambda: team_draft_cls([a, b], max_length=k).interleave()
    return variants


def run(quick: bool, install_mpkato: bool = False) -> dict[str, Any]:
    iterations_cap = 200 if quick else 2000
    team_draft_cls, status = mpkato_status(install_mpkato)
    results: dict[str, Any] = {"mpkato": status}
    for rows in (100, 500):
        a, b = _lists(rows)
        for k in (10, 50, 100):
            variants = _variants(a, b, k, team_draft_cls)
            # The reference is quadratic: cap its share of the run at about 3 s per input.
            per_call = timed(variants["reference"])
            iterations = max(30, min(iterations_cap, int(3.0 / max(per_call, 1e-6))))
            samples = side_by_side(variants, iterations)
            figures = {name: summary(values, scale=1e6) for name, values in samples.items()}
            for name in figures:
                figures[name]["speedup_vs_reference_p50"] = (
                    figures["reference"]["p50"] / figures[name]["p50"]
                )
            results[f"K={k} lists={rows}"] = figures
    return results
