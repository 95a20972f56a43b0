"""Credit rules: which clicked items earn a point for the team that drafted them.

A rule is a pair that must agree: a boolean SQL expression for ``credit.sql`` (over ``x``, the
clicked item, and ``m``, its impression) and the same test on a pandas frame for the reference.
Names resolve through a registry; an unknown name raises an error listing the valid ones.

Short arms: ``contest_depth`` (an impression column, ``m.contest_depth`` in SQL) is where the
contest ended: items drafted after an arm ran out fill slots only the longer arm could fill, so a
click there says nothing about preference. ``competitive`` credits no one for them, exactly as
for the shared top prefix (docs/concepts.md, "Short arms"); rank credit does the same
(``rank_credit.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..errors import UnknownCreditRuleError

#: Item rows with at least ``position`` and ``prefix_len`` -> which of them may earn credit.
PandasEligible = Callable[[pd.DataFrame], "pd.Series[bool]"]


@dataclass(frozen=True)
class CreditRule:
    """One credit policy, in both languages the pipeline speaks."""

    name: str
    description: str
    sql_eligible: str
    eligible: PandasEligible


_REGISTRY: dict[str, CreditRule] = {}


def register(rule: CreditRule) -> CreditRule:
    """Add ``rule`` under its name; registering another rule under a taken name is an error."""
    if rule.name in _REGISTRY and _REGISTRY[rule.name] is not rule:
        raise ValueError(f"credit rule {rule.name!r} is already registered")
    _REGISTRY[rule.name] = rule
    return rule


def available_credit_rules() -> tuple[str, ...]:
    """Names of the registered credit rules, sorted."""
    return tuple(sorted(_REGISTRY))


def get_credit_rule(name: str) -> CreditRule:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCreditRuleError(name, _REGISTRY) from None


def _every_item(items: pd.DataFrame) -> pd.Series[bool]:
    every: pd.Series[bool] = pd.Series(True, index=items.index, dtype=bool)
    return every


def _contested(items: pd.DataFrame) -> pd.Series[bool]:
    position = items["position"]
    contested: pd.Series[bool] = (position > items["prefix_len"]) & (position <= items["contest_depth"])
    return contested


TEAM_DRAFT = register(
    CreditRule(
        name="team_draft",
        description="every click counts for the team that drafted the clicked item",
        sql_eligible="TRUE",
        eligible=_every_item,
    )
)

COMPETITIVE = register(
    CreditRule(
        name="competitive",
        description=(
            "like team_draft, but items in the common top prefix of the two arms (both ranked "
            "them identically from the top) credit no one, so identical lists always tie, and "
            "neither do items drafted after an arm ran out, so a short arm cannot lose (or win) "
            "by its length"
        ),
        sql_eligible="x.position > m.prefix_len AND x.position <= m.contest_depth",
        eligible=_contested,
    )
)
