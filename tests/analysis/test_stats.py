"""Statistics of an experiment: hand-computed fixtures, reference checks and seeded simulations."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from interleave_sdk.analysis.stats import (
    SERIES_COLUMNS,
    Verdict,
    binomial_test_half,
    bootstrap_delta,
    click_share_by_position,
    compute_verdict,
    cumulative_series,
    further_units_for_power,
    one_sample_t_test,
    sign_test,
)
from interleave_sdk.errors import InterleaveError, OutcomesError

from .outcome_frames import outcomes_frame, simulated_outcomes

# Users and credits of the hand-computed fixture used by several tests:
#   u1: A, A, B            summed credit +1 -> prefers A
#   u2: B                  -> prefers B
#   u3: A, B               summed credit 0 -> tie
#   u4: A, (no click)      -> prefers A
#   None, None: A, A       each impression is its own user -> two A preferences
#   u5: (no click)         -> not an analysed user
# Clicked impressions: 6 A, 3 B, 0 ties -> ΔAB = (6 - 3) / (2 * 9) = 1/6.
HAND_USERS = ["u1", "u1", "u1", "u2", "u3", "u3", "u4", "u4", None, None, "u5"]
HAND_A = [1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0]
HAND_B = [0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0]


def hand_frame() -> pd.DataFrame:
    return outcomes_frame(HAND_USERS, HAND_A, HAND_B)


# ---------------------------------------------------------------------------- sign test


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        (0, 0, 1.0),
        (0, 1, 1.0),  # 2 * 1/2
        (2, 4, 1.0),  # the mode itself
        (5, 5, 2 / 32),
        (0, 6, 2 / 64),
        (8, 10, 2 * (1 + 10 + 45) / 1024),
        (15, 20, 2 * (1 + 20 + 190 + 1140 + 4845 + 15504) / 2**20),
        (3, 9, 2 * (1 + 9 + 36 + 84) / 512),
    ],
)
def test_sign_test_matches_hand_computed_tails(
    successes: int, trials: int, expected: float
) -> None:
    """The exact two-sided p-value is twice the smaller binomial tail, capped at 1."""
    assert binomial_test_half(successes, trials) == pytest.approx(expected, rel=1e-15)


def test_sign_test_matches_scipy_exhaustively_for_small_samples() -> None:
    """Every (k, n) with n <= 60 agrees with scipy.stats.binomtest."""
    for n in range(1, 61):  # scipy refuses n = 0; the hand table above covers it
        for k in range(n + 1):
            assert binomial_test_half(k, n) == pytest.approx(
                sps.binomtest(k, n).pvalue, rel=1e-12, abs=1e-300
            )


@pytest.mark.parametrize(
    ("successes", "trials"),
    [(1950, 4000), (1000, 2001), (2100, 4001), (49_700, 100_000), (500_900, 1_000_000)],
)
def test_sign_test_log_space_path_matches_scipy(successes: int, trials: int) -> None:
    """Beyond the exact-integer limit the log-space sum still agrees with scipy."""
    assert binomial_test_half(successes, trials) == pytest.approx(
        sps.binomtest(successes, trials).pvalue, rel=1e-7
    )


def test_sign_test_drops_nothing_but_ties() -> None:
    """sign_test(wins_a, wins_b) is the binomial test on the non-tied count."""
    assert sign_test(8, 2) == binomial_test_half(8, 10)


@pytest.mark.parametrize(("successes", "trials"), [(-1, 3), (4, 3), (0, -1)])
def test_binomial_test_rejects_impossible_counts(successes: int, trials: int) -> None:
    """Counts outside 0 <= k <= n raise the SDK's error, not a wrong number."""
    with pytest.raises(OutcomesError):
        binomial_test_half(successes, trials)


# ---------------------------------------------------------------------------- t-test


def test_t_test_matches_closed_form_for_three_degrees_of_freedom() -> None:
    """[1, 2, 3, 4]: t = 2.5 / (sqrt(5/3) / 2); with 3 df the tail has a closed form."""
    t = 2.5 / (math.sqrt(5 / 3) / 2)
    theta = math.atan(t / math.sqrt(3))
    expected = 1 - (2 / math.pi) * (theta + math.sin(theta) * math.cos(theta))
    assert one_sample_t_test([1, 2, 3, 4]) == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(sps.ttest_1samp([1, 2, 3, 4], 0).pvalue, rel=1e-10)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([3.0], None), ([0.0, 0.0, 0.0], 1.0), ([2.0, 2.0], 0.0)],
)
def test_t_test_degenerate_inputs(values: list[float], expected: float | None) -> None:
    """No variance estimate gives None; zero variance gives the limit (1 at mean 0, else 0)."""
    assert one_sample_t_test(values) == expected


def test_verdict_t_test_runs_on_each_users_mean_credit_difference() -> None:
    """Per-user means of credit A − B (1, 0, -1, 2) feed the t-test."""
    frame = outcomes_frame(
        ["u1", "u1", "u2", "u2", "u3", "u4"], [1, 1, 1, 0, 0, 2], [0, 0, 0, 1, 1, 0]
    )
    verdict = compute_verdict(frame, n_boot=10)
    assert verdict.t_test_p == pytest.approx(sps.ttest_1samp([1, 0, -1, 2], 0).pvalue, rel=1e-10)


# ---------------------------------------------------------------------------- ΔAB and counts


def test_delta_ab_counts_ties_as_half_a_win() -> None:
    """3 A wins, 1 B win, 2 clicked ties: ΔAB = (3 + 2/2) / 6 − 1/2 = 1/6; no-click rows ignored."""
    frame = outcomes_frame(
        [f"u{i}" for i in range(10)],
        [1, 1, 1, 0, 1, 2, 0, 0, 0, 0],
        [0, 0, 0, 1, 1, 2, 0, 0, 0, 0],
    )
    verdict = compute_verdict(frame, unit="impression", n_boot=50)
    assert verdict.delta_ab == pytest.approx(1 / 6)
    assert (verdict.impression_wins_a, verdict.impression_wins_b, verdict.impression_ties) == (
        3,
        1,
        2,
    )
    assert verdict.impressions == 6
    assert verdict.impressions_total == 10
    assert verdict.tie_rate == pytest.approx(2 / 6)


def test_user_unit_counts_user_preferences() -> None:
    """Hand fixture at the user level: 4 users prefer A, 1 prefers B, 1 ties."""
    verdict = compute_verdict(hand_frame(), unit="user", n_boot=50)
    assert (verdict.wins_a, verdict.wins_b, verdict.ties) == (4, 1, 1)
    assert verdict.users == 6
    assert verdict.users_total == 7
    assert verdict.tie_rate == pytest.approx(1 / 6)
    assert verdict.p_value == pytest.approx(2 * (1 + 5) / 32)
    assert verdict.delta_ab == pytest.approx(1 / 6)


def test_impression_unit_counts_impressions() -> None:
    """Hand fixture at the impression level: 6 A, 3 B, no ties; p = 2·P(X ≤ 3 | n=9)."""
    verdict = compute_verdict(hand_frame(), unit="impression", n_boot=50)
    assert (verdict.wins_a, verdict.wins_b, verdict.ties) == (6, 3, 0)
    assert verdict.users == 6
    assert verdict.p_value == pytest.approx(260 / 512)
    assert verdict.delta_ab == pytest.approx(1 / 6)


def test_user_preference_is_the_sign_of_summed_credit_not_of_win_counts() -> None:
    """A user who wins twice for A by one click but once for B by three clicks prefers B."""
    frame = outcomes_frame(["u1", "u1", "u1"], [1, 1, 0], [0, 0, 3])
    verdict = compute_verdict(frame, n_boot=10)
    assert (verdict.wins_a, verdict.wins_b, verdict.ties) == (0, 1, 0)
    assert verdict.impression_wins_a == 2


def test_contested_share_is_over_all_impressions() -> None:
    """Contested 0 + 4 + 5 of 10 + 10 + 5 slots = 0.36, clicked or not."""
    frame = outcomes_frame(
        ["u1", "u2", "u3"], [1, 0, 0], [0, 0, 0], slots=[10, 10, 5], contested=[0, 4, 5]
    )
    assert compute_verdict(frame, n_boot=10).contested_share == pytest.approx(0.36)


@pytest.mark.parametrize("unit", ["user", "impression"])
def test_significant_preference_names_the_winner(unit: str) -> None:
    """30 users each preferring B once is significant: winner B, no further power needed."""
    frame = outcomes_frame([f"u{i}" for i in range(30)], [0] * 30, [1] * 30)
    verdict = compute_verdict(frame, unit=unit, n_boot=50)
    assert verdict.winner == "B"
    assert verdict.p_value == pytest.approx(2 / 2**30)
    assert verdict.delta_ab == pytest.approx(-0.5)
    assert verdict.power_needed is None


def test_non_significant_preference_has_no_winner() -> None:
    """The hand fixture (p = 0.375 at the user level) names no winner."""
    assert compute_verdict(hand_frame(), n_boot=10).winner == "none"


# ---------------------------------------------------------------------------- first pick


def _first_pick_frame(first_by_user: list[str], per_user: int) -> pd.DataFrame:
    users = [f"u{u}" for u in range(len(first_by_user)) for _ in range(per_user)]
    firsts = [team for team in first_by_user for _ in range(per_user)]
    return outcomes_frame(users, [1] * len(users), [0] * len(users), first_team=firsts)


@pytest.mark.parametrize(("a_first", "ok"), [(50, True), (60, True), (65, False), (80, False)])
def test_first_pick_flag_follows_binomial_test_at_one_percent(a_first: int, ok: bool) -> None:
    """Out of 100 impressions: 60 A-first is fine (p = 0.057), 65 is flagged (p = 0.0035)."""
    frame = _first_pick_frame(["A"] * a_first + ["B"] * (100 - a_first), per_user=1)
    verdict = compute_verdict(frame, unit="impression", n_boot=10)
    assert verdict.first_pick_share_a == pytest.approx(a_first / 100)
    assert verdict.first_pick_p == pytest.approx(sps.binomtest(a_first, 100).pvalue)
    assert verdict.first_pick_ok is ok


def test_first_pick_check_counts_users_when_the_coin_is_seeded_per_user() -> None:
    """14 of 20 users drafting A first on all 10 visits: fine per user, flagged per impression."""
    frame = _first_pick_frame(["A"] * 14 + ["B"] * 6, per_user=10)
    by_user = compute_verdict(frame, unit="user", n_boot=10)
    by_impression = compute_verdict(frame, unit="impression", n_boot=10)
    assert by_user.first_pick_share_a == pytest.approx(0.7)
    assert by_user.first_pick_p == pytest.approx(sps.binomtest(14, 20).pvalue)
    assert by_user.first_pick_ok is True
    assert by_impression.first_pick_ok is False


# ---------------------------------------------------------------------------- power


def test_power_needed_matches_the_normal_approximation() -> None:
    """55 vs 45 at α 0.05: ((1.96·½ + 0.8416·√(.55·.45)) / .05)² ≈ 782.5 units, 100 observed."""
    further = further_units_for_power(55, 45, 0, alpha=0.05)
    assert further is not None
    assert further == pytest.approx(782.5 - 100, abs=0.5)


def test_power_needed_reaches_eighty_percent_power_with_the_exact_test() -> None:
    """At the estimated total size the exact sign test rejects ~80 % of the time at the effect."""
    further = further_units_for_power(55, 45, 0, alpha=0.05)
    assert further is not None
    n = 100 + math.ceil(further)
    rejects = np.array([binomial_test_half(k, n) < 0.05 for k in range(n + 1)])
    power = float(sps.binom.pmf(np.arange(n + 1), n, 0.55)[rejects].sum())
    assert 0.75 <= power <= 0.85


def test_power_needed_shrinks_as_the_effect_grows() -> None:
    """Stronger observed preferences need fewer further units; all stay positive."""
    needs = [further_units_for_power(50 + d, 50 - d, 0, alpha=0.05) for d in (1, 2, 4, 8)]
    assert all(n is not None and n > 0 for n in needs)
    assert needs == sorted(needs, reverse=True)


def test_power_needed_grows_with_ties() -> None:
    """Ties carry no information, so the same wins with ties need proportionally more units."""
    without = further_units_for_power(55, 45, 0, alpha=0.05)
    with_ties = further_units_for_power(55, 45, 100, alpha=0.05)
    assert without is not None
    assert with_ties is not None
    assert with_ties + 200 == pytest.approx(2 * (without + 100))


@pytest.mark.parametrize(("wins_a", "wins_b"), [(0, 0), (10, 10)])
def test_power_needed_is_none_without_an_effect(wins_a: int, wins_b: int) -> None:
    """No non-tied units or equal wins: there is no effect to size a test for."""
    assert further_units_for_power(wins_a, wins_b, 5, alpha=0.05) is None


def test_verdict_power_needed_is_in_clicked_impressions() -> None:
    """With two clicked impressions per user, the further users are converted to impressions."""
    users = [f"u{i}" for i in range(100) for _ in range(2)]
    credit_a = [1 if i < 55 else 0 for i in range(100) for _ in range(2)]
    frame = outcomes_frame(users, credit_a, [1 - a for a in credit_a])
    verdict = compute_verdict(frame, n_boot=10)
    further = further_units_for_power(55, 45, 0, alpha=0.05)
    assert further is not None
    assert verdict.power_needed == math.ceil(2 * further)


# ---------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_reproducible_by_seed() -> None:
    """The same seed gives the identical interval; another seed gives a different one."""
    frame = simulated_outcomes(
        np.random.default_rng(3), users=200, mean_impressions=3, p_a=0.4, p_b=0.35
    )
    first = compute_verdict(frame, seed=7, n_boot=300)
    again = compute_verdict(frame, seed=7, n_boot=300)
    other = compute_verdict(frame, seed=8, n_boot=300)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_bootstrap_matches_naive_user_resampling_in_distribution() -> None:
    """Multinomial counts over cluster profiles ≡ drawing users with replacement one by one."""
    rng = np.random.default_rng(11)
    size = rng.integers(1, 6, size=40)
    diff = np.array([rng.integers(-s, s + 1) for s in size])
    fast = bootstrap_delta(diff, size, n_boot=20_000, rng=np.random.default_rng(1))
    naive_rng = np.random.default_rng(2)
    naive = np.empty(20_000)
    for b in range(naive.size):
        pick = naive_rng.integers(0, size.size, size=size.size)
        naive[b] = diff[pick].sum() / (2 * size[pick].sum())
    assert fast.mean() == pytest.approx(naive.mean(), abs=0.03 * naive.std())
    assert fast.std() == pytest.approx(naive.std(), rel=0.03)
    assert np.quantile(fast, 0.025) == pytest.approx(
        np.quantile(naive, 0.025), abs=0.05 * naive.std()
    )


def _coverage(unit: str, concentration: float, experiments: int = 200) -> float:
    """Share of seeded experiments whose 95 % interval covers the true ΔAB of 0.05.

    Each user has their own P(A wins) ~ Beta around 0.55 (smaller ``concentration`` = users differ
    more); impressions per user do not depend on it, so the true ΔAB is (2·0.55 − 1)/2.
    """
    rng = np.random.default_rng(2024)
    covered = 0
    for _ in range(experiments):
        p_a = rng.beta(0.55 * concentration, 0.45 * concentration, size=150)
        frame = simulated_outcomes(rng, users=150, mean_impressions=4, p_a=p_a, p_b=1 - p_a)
        v = compute_verdict(frame, unit=unit, n_boot=400, seed=int(rng.integers(2**31)))
        assert v.ci_low is not None
        assert v.ci_high is not None
        covered += v.ci_low <= 0.05 <= v.ci_high
    return covered / experiments


def test_cluster_bootstrap_interval_covers_the_true_value_at_about_the_nominal_rate() -> None:
    """Heterogeneous users, 200 experiments: the user-level 95 % interval covers ~95 % of runs."""
    assert 0.90 <= _coverage("user", concentration=2.0) <= 0.99


def test_impression_bootstrap_under_covers_when_users_differ() -> None:
    """The same clustered data with impressions treated as independent covers clearly less."""
    assert _coverage("impression", concentration=2.0) < 0.88


# ---------------------------------------------------------------------------- A/A


def _aa_rejection_rates(experiments: int = 400, users: int = 600) -> tuple[float, float]:
    """Sign-test rejection rates (user, impression unit) over seeded A/A experiments.

    Both arms identical in distribution: each user draws how decisive they are and their share of A
    among decided impressions from Beta(2, 2), symmetric around ½. Users differ, so their
    impressions are correlated, but neither arm is preferred on average. All experiments are
    simulated in one vectorised draw and then analysed one by one.
    """
    rng = np.random.default_rng(20261123)
    decided = rng.uniform(0.4, 0.9, size=experiments * users)
    share_a = rng.beta(2.0, 2.0, size=experiments * users)
    frames = simulated_outcomes(
        rng,
        users=experiments * users,
        mean_impressions=3,
        p_a=decided * share_a,
        p_b=decided * (1 - share_a),
    )
    rejected = {"user": 0, "impression": 0}
    for _, frame in frames.groupby(frames["user_index"].to_numpy() // users, sort=False):
        for unit in rejected:
            rejected[unit] += compute_verdict(frame, unit=unit, n_boot=1).p_value < 0.05
    return rejected["user"] / experiments, rejected["impression"] / experiments


@pytest.fixture(scope="module")
def aa_rates() -> tuple[float, float]:
    """The A/A rejection rates, simulated once for the tests below."""
    return _aa_rejection_rates()


@pytest.mark.slow
def test_aa_user_level_sign_test_rejects_at_the_nominal_rate(aa_rates: tuple[float, float]) -> None:
    """400 A/A runs: the user-level sign test rejects in 5 % ± 2 % of them at α = 0.05."""
    assert 0.03 <= aa_rates[0] <= 0.07


@pytest.mark.slow
def test_aa_impression_level_sign_test_over_rejects_when_users_differ(
    aa_rates: tuple[float, float],
) -> None:
    """The same runs analysed per impression reject too often: users are not independent votes."""
    assert aa_rates[1] > 0.07


# ---------------------------------------------------------------------------- edge cases


def _assert_json_ready(verdict: Verdict) -> None:
    data = verdict.as_dict()
    json.dumps(data, allow_nan=False)
    assert all(type(v) in (str, int, float, bool, type(None)) for v in data.values())


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        outcomes_frame([], [], []),
        outcomes_frame(["u1", "u2"], [0, 0], [0, 0]),
    ],
    ids=["no-columns", "no-rows", "no-clicks"],
)
@pytest.mark.parametrize("unit", ["user", "impression"])
def test_no_clicks_give_an_undecided_nan_free_verdict(frame: pd.DataFrame, unit: str) -> None:
    """Empty input or no clicks: winner none, p 1, undefined numbers None, never an exception."""
    verdict = compute_verdict(frame, unit=unit)
    assert verdict.winner == "none"
    assert verdict.p_value == 1.0
    assert (verdict.delta_ab, verdict.ci_low, verdict.ci_high) == (None, None, None)
    assert (verdict.impressions, verdict.power_needed, verdict.t_test_p) == (0, None, None)
    _assert_json_ready(verdict)


def test_as_dict_has_only_builtin_values_in_field_order() -> None:
    """as_dict is JSON-ready: builtins only, no NaN, keys in declaration order."""
    verdict = compute_verdict(hand_frame(), n_boot=50)
    _assert_json_ready(verdict)
    assert next(iter(verdict.as_dict())) == "winner"


def test_single_clicked_impression_has_a_degenerate_interval() -> None:
    """One observation: the interval collapses on ΔAB and the t-test is undefined."""
    verdict = compute_verdict(outcomes_frame(["u1"], [1], [0]), n_boot=100)
    assert verdict.delta_ab == verdict.ci_low == verdict.ci_high == 0.5
    assert verdict.t_test_p is None


@pytest.mark.parametrize("dtype", ["object", "str"])
def test_null_user_ids_are_each_their_own_cluster(dtype: str) -> None:
    """Anonymous impressions count as one user each; u1's two impressions as one user."""
    frame = outcomes_frame(["u1", "u1", None, None, None], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1])
    frame["user_id"] = frame["user_id"].astype(dtype)
    verdict = compute_verdict(frame, n_boot=10)
    assert (verdict.users, verdict.wins_a, verdict.wins_b) == (4, 3, 1)


@pytest.mark.slow
def test_verdict_on_a_million_impressions_takes_seconds() -> None:
    """1M impressions of 100k users with 1000 user-level resamples: far under 20 s (vectorised)."""
    rng = np.random.default_rng(0)
    n, users = 1_000_000, 100_000
    user = rng.integers(0, users, size=n)
    u = rng.random(n)
    frame = pd.DataFrame(
        {
            "user_id": np.char.add("u", np.arange(users).astype(str)).astype(object)[user],
            "credit_a": (u < 0.13).astype(np.float64),
            "credit_b": ((u >= 0.13) & (u < 0.25)).astype(np.float64),
            "outcome": np.where(u < 0.13, "A", np.where(u < 0.25, "B", "tie")),
            "clicked": u < 0.25,
            "first_team": np.where(rng.random(n) < 0.5, "A", "B"),
            "slots": np.full(n, 10),
            "contested_slots": rng.integers(0, 11, size=n),
        }
    )
    started = time.perf_counter()
    verdict = compute_verdict(frame, n_boot=1000)
    assert time.perf_counter() - started < 20.0
    assert verdict.impressions == int((u < 0.25).sum())
    assert verdict.winner == "A"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="credit_b"), "credit_b"),
        (lambda f: f.assign(outcome="win"), "win"),
        (lambda f: f.assign(first_team="C"), "first_team"),
        (lambda f: f.assign(credit_a=np.nan), "credit_a"),
        (lambda f: f.assign(credit_b="lots"), "credit_b"),
        (lambda f: f.assign(contested_slots=99), "contested_slots"),
    ],
    ids=[
        "missing-column",
        "bad-outcome",
        "bad-first-team",
        "nan-credit",
        "text-credit",
        "contested>slots",
    ],
)
def test_malformed_outcomes_raise_the_sdk_error(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    """A table that breaks the contract raises OutcomesError naming the problem."""
    with pytest.raises(OutcomesError, match=message):
        compute_verdict(change(hand_frame()))


@pytest.mark.parametrize(
    "options",
    [{"unit": "session"}, {"n_boot": 0}, {"alpha": 0.0}, {"alpha": 1.5}, {"seed": -1}],
)
def test_bad_options_raise_an_interleave_error(options: dict[str, object]) -> None:
    """An unknown unit, no resamples, an impossible alpha or a negative seed are refused."""
    with pytest.raises(InterleaveError):
        compute_verdict(hand_frame(), **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- series and shares


def test_cumulative_series_ends_at_the_full_verdict() -> None:
    """The last point is compute_verdict on everything, with the same seed and resamples."""
    frame = simulated_outcomes(
        np.random.default_rng(5), users=120, mean_impressions=3, p_a=0.45, p_b=0.35
    )
    series = cumulative_series(frame, points=10, n_boot=200, seed=4)
    full = compute_verdict(frame, n_boot=200, seed=4)
    last = series.iloc[-1]
    assert list(series.columns) == list(SERIES_COLUMNS)
    assert len(series) == 10
    assert last["impressions_total"] == len(frame)
    assert (last["delta_ab"], last["ci_low"], last["ci_high"], last["p_value"]) == (
        full.delta_ab,
        full.ci_low,
        full.ci_high,
        full.p_value,
    )
    assert series["impressions_total"].is_monotonic_increasing
    assert series["ts"].is_monotonic_increasing


def test_cumulative_series_orders_impressions_by_time() -> None:
    """Shuffling the rows does not change the series: prefixes follow ts, not row order."""
    frame = simulated_outcomes(
        np.random.default_rng(6), users=80, mean_impressions=3, p_a=0.5, p_b=0.3
    )
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(1))
    pd.testing.assert_frame_equal(
        cumulative_series(frame, points=8, n_boot=50),
        cumulative_series(shuffled, points=8, n_boot=50),
    )


def test_cumulative_series_of_nothing_is_empty() -> None:
    """No impressions: an empty frame with the series columns."""
    series = cumulative_series(pd.DataFrame())
    assert series.empty
    assert list(series.columns) == list(SERIES_COLUMNS)


def test_click_share_by_position_hand_fixture() -> None:
    """Clicks A 6 / B 2 at position 1 and A 1 / B 1 at 2: shares of 10 and within position."""
    clicks = pd.DataFrame(
        {
            "position": [1, 1, 2, 2, 1],
            "source_ranker": ["A", "B", "A", "B", "A"],
            "clicks": [4, 2, 1, 1, 2],
        }
    )
    table = click_share_by_position(clicks)
    assert table["position"].tolist() == [1, 1, 2, 2]
    assert table["source_ranker"].tolist() == ["A", "B", "A", "B"]
    assert table["clicks"].tolist() == [6, 2, 1, 1]
    assert table["share"].tolist() == pytest.approx([0.6, 0.2, 0.1, 0.1])
    assert table["share_in_position"].tolist() == pytest.approx([0.75, 0.25, 0.5, 0.5])

