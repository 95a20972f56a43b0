"""Health checks: whether the data behind a verdict deserve the verdict's confidence.

Each check is a value, ``{name, status, value, threshold, message}`` with ``status`` one of
``ok``/``warn``/``fail``, computed from what the analysis already measured (the verdict, the
attributed events, the data-quality counts) and from the log tallies of ``log_facts``. The
thresholds and the reason for each are in docs/analysis.md ("Health checks"); the report and the
CLI only render these values, and ``analyze --strict`` exits 3 when one fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from .log_facts import LogFacts
from .outcomes import MATCHED
from .stats import FIRST_PICK_ALPHA, Verdict

Status = Literal["ok", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")

#: Positive feedback that joins a logged ranking: GrowthBook's 80 % for a paired analysis; below
#: 20 % the join itself is broken (ids, clocks), and the few clicks left are a selected sample.
COVERAGE_WARN, COVERAGE_FAIL = 0.80, 0.20
#: Interleaving requests that fell back to the baseline (each leaves the experiment).
FALLBACK_WARN, FALLBACK_FAIL = 0.01, 0.05
#: Fallbacks concentrate when they reach at most this share of the users that failures spread
#: at random over requests would reach (with at least ``CONCENTRATION_MIN`` fallbacks).
CONCENTRATION_WARN, CONCENTRATION_MIN = 0.5, 10
#: Interleaved rankings where an arm's list was shorter than ``k``.
EXHAUSTED_WARN, EXHAUSTED_FAIL = 0.05, 0.25
#: Ranking records that repeat a ranking id already read.
DUPLICATE_WARN, DUPLICATE_FAIL = 0.01, 0.10


@dataclass(frozen=True)
class Check:
    """One health check; ``detail`` holds the breakdown behind ``value`` (JSON-ready)."""

    name: str
    status: Status
    value: float | int | None
    threshold: Mapping[str, float]
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "value": self.value,
            "threshold": dict(self.threshold),
            "message": self.message,
            "detail": dict(self.detail),
        }


def _above(value: float, warn: float, fail: float) -> Status:
    return "fail" if value > fail else "warn" if value > warn else "ok"


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def first_pick_balance(verdict: Verdict) -> Check:
    """Binomial test on which arm drafted first (per user when users are the unit)."""
    threshold = {"warn_below_p": FIRST_PICK_ALPHA}
    share, p = verdict.first_pick_share_a, verdict.first_pick_p
    if share is None or p is None:
        return Check("first_pick_balance", "ok", None, threshold, "no interleaved impressions")
    status: Status = "warn" if p < FIRST_PICK_ALPHA else "ok"
    message = f"A drafted first in {_pct(share)} of impressions (p = {p:.3g})"
    if status != "ok":
        message += "; Team Draft gives each arm the first pick half the time: check the seeding"
    return Check("first_pick_balance", status, share, threshold, message, {"p_value": p})


def feedback_coverage(events: pd.DataFrame) -> Check:
    """Share of distinct positive feedback events that joined a logged ranking."""
    threshold = {"warn_below": COVERAGE_WARN, "fail_below": COVERAGE_FAIL}
    positive = events[events["polarity"].fillna(0).astype("int64") > 0]
    if len(positive) == 0:
        return Check("feedback_coverage", "ok", None, threshold, "no positive feedback")
    joined = int(positive["status"].isin(MATCHED).sum())
    share = joined / len(positive)
    status: Status = "fail" if share < COVERAGE_FAIL else "warn" if share < COVERAGE_WARN else "ok"
    lost = positive.loc[~positive["status"].isin(MATCHED), "status"].value_counts()
    message = f"{joined:,} of {len(positive):,} positive events joined a logged ranking"
    if len(lost):
        top = ", ".join(f"{name} {int(n):,}" for name, n in lost.items())
        message += f" (lost: {top})"
    detail = {"positive": len(positive), "joined": joined, **{str(k): int(v) for k, v in lost.items()}}
    return Check("feedback_coverage", status, share, threshold, message, detail)


def _expected_users(facts: LogFacts, rate: float) -> float:
    """Users failures would reach if each request failed independently with ``rate``."""
    return sum(1.0 - (1.0 - rate) ** n for n in facts.user_requests.values())


def fallback_share(facts: LogFacts | None) -> Check:
    """Interleaving requests that fell back, by arm and reason, and whether they hit few users."""
    threshold = {
        "warn_above": FALLBACK_WARN,
        "fail_above": FALLBACK_FAIL,
        "warn_concentration_above": CONCENTRATION_WARN,
    }
    if facts is None:
        return Check("fallback_share", "ok", None, threshold, "not measured: no log files to scan")
    if facts.requests == 0:
        return Check("fallback_share", "ok", None, threshold, "no interleaving requests in the log")
    failed = sum(facts.user_fallbacks.values())
    share = failed / facts.requests
    by_cause = {
        f"{arm}/{reason}": n / facts.requests for (arm, reason), n in facts.fallbacks.most_common()
    }
    users = len(facts.user_fallbacks)
    expected = _expected_users(facts, share)
    concentration = 1.0 - users / expected if expected > 0 else 0.0
    status = _above(share, FALLBACK_WARN, FALLBACK_FAIL)
    message = f"{failed:,} of {facts.requests:,} interleaving requests fell back ({_pct(share)})"
    if by_cause:
        message += "; " + ", ".join(f"{cause} {_pct(s)}" for cause, s in by_cause.items())
    if failed >= CONCENTRATION_MIN and concentration > CONCENTRATION_WARN:
        if status == "ok":
            status = "warn"
        message += (
            f"; they hit {users:,} users where random failures would hit {expected:,.0f}: "
            "those users leave the experiment (a selection bias)"
        )
    detail = {
        "requests": facts.requests,
        "fallbacks": failed,
        "by_arm_reason": by_cause,
        "users_with_fallback": users,
        "users_expected_if_random": expected,
        "concentration": concentration,
    }
    return Check("fallback_share", status, share, threshold, message, detail)


def exhausted_share(facts: LogFacts | None) -> Check:
    """Interleaved rankings where an arm's logged list was shorter than ``k``."""
    threshold = {"warn_above": EXHAUSTED_WARN, "fail_above": EXHAUSTED_FAIL}
    if facts is None:
        return Check("exhausted_share", "ok", None, threshold, "not measured: no log files to scan")
    if facts.measured == 0:
        return Check(
            "exhausted_share", "ok", None, threshold, "no interleaved line logged its arms' lists"
        )
    share = facts.exhausted / facts.measured
    by_arm = {arm: n / facts.measured for arm, n in sorted(facts.exhausted_by_arm.items())}
    message = f"an arm ran short of k items in {facts.exhausted:,} of {facts.measured:,} rankings"
    if by_arm:
        message += " (" + ", ".join(f"{arm} {_pct(s)}" for arm, s in by_arm.items()) + ")"
    detail = {"rankings": facts.measured, "exhausted": facts.exhausted, "by_arm": by_arm}
    return Check(
        "exhausted_share", _above(share, EXHAUSTED_WARN, EXHAUSTED_FAIL), share, threshold, message, detail
    )


def duplicate_rankings(data_quality: Mapping[str, int], records: int) -> Check:
    """Ranking records that repeat a ranking id (the analysis keeps the first); ``records``
    counts the interleaved ranking records read (``schema_versions["read"]``)."""
    threshold = {"warn_above": DUPLICATE_WARN, "fail_above": DUPLICATE_FAIL}
    duplicates = int(data_quality.get("duplicate_rankings", 0))
    if records == 0:
        return Check("duplicate_rankings", "ok", None, threshold, "no interleaved rankings")
    share = duplicates / records
    message = f"{duplicates:,} of {records:,} interleaved ranking records repeat a ranking id"
    detail = {"duplicates": duplicates, "records": records}
    return Check(
        "duplicate_rankings", _above(share, DUPLICATE_WARN, DUPLICATE_FAIL), share, threshold, message, detail
    )


def unknown_schema(schema_versions: Mapping[str, Mapping[str, int]]) -> Check:
    """Records of a schema major version this SDK does not know (refused, never analysed)."""
    refused = dict(schema_versions.get("refused", {}))
    count = sum(refused.values())
    read = ", ".join(sorted(schema_versions.get("read", {}))) or "none"
    threshold = {"fail_above": 0}
    if count == 0:
        return Check("unknown_schema", "ok", 0, threshold, f"schema versions read: {read}", {})
    names = ", ".join(f"{version} ({n:,})" for version, n in refused.items())
    message = (
        f"{count:,} records of unknown schema versions were refused: {names}; read: {read}. "
        "Upgrade interleave-sdk to analyse them"
    )
    return Check("unknown_schema", "fail", count, threshold, message, {"refused": refused})


def evaluate(
    verdict: Verdict,
    events: pd.DataFrame,
    data_quality: Mapping[str, int],
    schema_versions: Mapping[str, Mapping[str, int]],
    facts: LogFacts | None,
) -> list[Check]:
    """Every check, in a fixed order."""
    records = sum(schema_versions.get("read", {}).values())
    return [
        first_pick_balance(verdict),
        feedback_coverage(events),
        fallback_share(facts),
        exhausted_share(facts),
        duplicate_rankings(data_quality, records),
        unknown_schema(schema_versions),
    ]


def failed(checks: Sequence[Check]) -> list[Check]:
    """The checks whose status is ``fail`` (``analyze --strict`` exits 3 when there is one)."""
    return [check for check in checks if check.status == "fail"]
