"""Optimized interleaving (Radlinski & Craswell, WSDM 2013) for two arms, never failing a request.

The method chooses a *distribution* over merged lists rather than a drafting rule:

* **Allowed lists.** Every prefix of a served list is the union of a prefix of A and a prefix of B.
  Equivalently, the list is built by repeatedly placing the top not-yet-placed item of A or of B.
  Each such list is named by its *choices*, one character per position: ``a`` (A's top unplaced
  item), ``b`` (B's), or ``=`` (both tops were the same item, so there was no choice). A list of
  length ``n`` only ever uses the top ``n`` items of each arm, so only those are read.
* **Credit.** A click on item ``d`` gives A the credit ``delta(d)`` (B gets ``-delta(d)``). With
  ``rank_X(d)`` the 1-based rank of ``d`` in arm X's top list (the first ``min(k, len(X))`` items)
  and ``len(top_X) + 1`` when ``d`` is not in it:

  - ``linear`` (``optimized_v1``): ``delta(d) = rank_B(d) - rank_A(d)``;
  - ``inverse`` (``optimized_inverse_v1``): ``delta(d) = 1/rank_A(d) - 1/rank_B(d)``.

  Positive credit favours A. The analysis recomputes it from each logged item's per-arm ``ranks``.
* **Unbiasedness.** A user who clicks without looking at the items (any click probability that
  depends on the position only) must give each arm zero expected credit at every cut-off ``j``:
  ``sum_L p_L * sum_{i<=j} delta(L_i) = 0`` for ``j = 1..n``, which is the same as
  ``sum_L p_L * delta(L_j) = 0`` for every position ``j``.
* **Sensitivity.** Among unbiased distributions take one maximising ``sum_L p_L * s(L)`` with
  position weights ``w_i = (1/i) / sum_{j<=n} 1/j`` (clicks are likelier near the top),
  ``W_A = sum of w_i where delta(L_i) > 0``, ``W_B`` likewise for ``< 0``, and
  ``s(L) = (W_A + W_B) * H(W_A / (W_A + W_B))`` with ``H`` the binary entropy in bits (``s = 0``
  when ``W_A + W_B = 0``): a list is sensitive when likely clicks separate the arms, on both sides.

The linear program (one variable per allowed list, ``n + 1`` equalities) is solved with SciPy's
HiGHS, imported only when first needed (``pip install 'interleave-sdk[optimized]'``). It depends
only on the overlap pattern of the two top lists, never on the ids, so solved distributions are
kept in a bounded LRU cache keyed by that pattern.

Never failing: anything that stops a distribution from being found (not two arms, duplicate ids,
too many allowed lists, the time budget spent or expected to be, an infeasible or inexact LP, a
solver error, SciPy missing or still loading) serves Team Draft for this request instead, drawn
with the same untouched generator, with ``method="team_draft_v1"`` and
``detail={"fallback": <reason>, ...}``. A stream that raises while its top items are read is the
arm's failure and propagates, as it does for Team Draft.

Cold patterns are solved in the background: a pattern whose solve is not expected to fit in the
request's time budget serves Team Draft now (``time_budget``) and is handed to one daemon thread
(:class:`BackgroundSolver`, bounded queue, deduplicated) that solves and caches it, so the next
request with that pattern is optimized. ``background=False`` keeps solving inline only.

Loading SciPy takes about half a second, far past any request's budget, so a request never waits
for it: the first one that needs the solver starts the import in a background thread and serves
Team Draft (``solver_loading``). Call :func:`warm_up` at start-up (e.g. a Lambda's init phase) to
load it before traffic arrives.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import math
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ..forking import FORK_RESETS
from .api import Interleaving, Ranking, Rankings, register, register_rebuild
from .team_draft import team_draft

Credit = Literal["linear", "inverse"]
CREDITS: tuple[Credit, ...] = get_args(Credit)

FallbackReason = Literal[
    "not_two_arms",
    "duplicate_ids",
    "too_many_candidates",
    "time_budget",
    "infeasible",
    "inexact_solution",
    "solver_error",
    "solver_loading",
    "scipy_missing",
]
FALLBACK_REASONS: tuple[FallbackReason, ...] = get_args(FallbackReason)
INSTALL_HINT = "pip install 'interleave-sdk[optimized]'"

logger = logging.getLogger("interleave_sdk")

# What became of a pattern handed to the background solver (logged as ``detail["background"]``).
BackgroundOutcome = Literal["queued", "already_queued", "queue_full"]

# A served distribution must meet every unbiasedness equality to this absolute tolerance.
UNBIASED_TOLERANCE = 1e-9

# (credit, n, len(top A), for each item of top B its index in top A or -1)
Pattern = tuple[str, int, int, tuple[int, ...]]


class Fallback(Exception):
    """Why no optimized distribution is served for this request (internal control flow)."""

    def __init__(self, reason: FallbackReason, **facts: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.facts = facts


@dataclass(frozen=True)
class Distribution:
    """A solved LP, id-free: the allowed lists with positive probability, by their choices."""

    choices: tuple[str, ...]
    cumulative: tuple[float, ...]  # running sums of the probabilities, last ~1
    candidates: int  # how many allowed lists the LP chose among
    sensitivity: float  # the objective reached

    def probabilities(self) -> tuple[float, ...]:
        """What the sampler realises for each list in ``choices`` (cumulative differences)."""
        total = self.cumulative[-1]
        previous = 0.0
        out = []
        for c in self.cumulative:
            out.append((c - previous) / total)
            previous = c
        return tuple(out)

    def pick(self, u: float) -> int:
        """Index of the list a uniform draw ``u`` in [0, 1) selects."""
        i = bisect.bisect_right(self.cumulative, u * self.cumulative[-1])
        return min(i, len(self.choices) - 1)


class PatternCache:
    """A bounded, thread-safe LRU of solved patterns (and of patterns known to be infeasible)."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache_size must be >= 0, got {size}")
        self.size = size
        self._entries: OrderedDict[Pattern, Distribution | FallbackReason] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Pattern) -> Distribution | FallbackReason | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Pattern, entry: Distribution | FallbackReason) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has an entry, without refreshing its place in the LRU order."""
        with self._lock:
            return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SolverCost:
    """What a HiGHS call costs here, learnt from the calls made: a moving average in seconds per
    size class (the number of allowed lists, rounded to a power of two).

    ``linprog`` has a fixed cost (building the model, checking options) that no ``time_limit``
    interrupts, and the simplex grows with the number of lists; on a busy machine a ``k = 10``
    solve alone can exceed a few milliseconds. A solve is therefore started only when the estimate
    for its size fits in what is left of the budget (a size never seen is tried, once, to learn
    it). So that a passing load spike does not switch solving off for good, every
    ``probe_every``-th skipped solve runs anyway (that request pays the solve; rare enough to stay
    out of the p99) and refreshes the estimate; the pattern it solves is then cached.
    """

    def __init__(self, initial_s: float | None = None, probe_every: int = 256) -> None:
        if probe_every < 1:
            raise ValueError(f"probe_every must be >= 1, got {probe_every}")
        self.initial_s = initial_s
        self.probe_every = probe_every
        self._estimates: dict[int, float] = {}
        self._skipped = 0
        self._lock = threading.Lock()

    def estimate_s(self, candidates: int) -> float | None:
        """The expected seconds of a solve over ``candidates`` lists (None: not known yet)."""
        return self._estimates.get(candidates.bit_length(), self.initial_s)

    def allows(self, left_s: float, candidates: int, *, probe: bool = True) -> bool:
        """Whether a solve is expected to finish within ``left_s`` (or it is time to probe).

        ``probe=False`` when a background solver takes the skipped patterns: its solves refresh
        the estimate, so no request needs to pay for one.
        """
        estimate = self.estimate_s(candidates)
        if estimate is None or estimate <= left_s:
            return True
        if not probe:
            return False
        with self._lock:
            self._skipped += 1
            if self._skipped >= self.probe_every:
                self._skipped = 0
                return True
        return False

    def observe(self, seconds: float, candidates: int) -> None:
        size = candidates.bit_length()
        with self._lock:
            previous = self._estimates.get(size)
            self._estimates[size] = seconds if previous is None else 0.8 * previous + 0.2 * seconds


class BackgroundSolver:
    """One daemon thread that solves cold patterns off the request path, from a bounded queue.

    A cold ``k = 10`` pattern costs about 10 ms of CPU, more than a request's budget, so without
    this the request serves Team Draft and the pattern stays cold until a rare probe pays for it.
    With it, the request still serves Team Draft at once, but hands the pattern here; once solved
    it is cached and later requests with that pattern are served optimized within their budget.

    ``max_pending`` bounds the patterns waiting (or being solved): past it a pattern is dropped
    (``queue_full``, counted) and handed in again by a later request, so a burst of new patterns
    cannot grow memory or a backlog. A pattern already waiting is not queued twice
    (``already_queued``). ``time_limit_s`` bounds one background solve. The thread starts on the
    first pattern, never at import or decoration; after ``fork()`` the child starts with an empty
    queue and no thread (the parent's does not exist there), and starts its own when needed.
    ``counts`` tallies what happened (queued, already_queued, queue_full, solved, failed).
    """

    def __init__(self, max_pending: int = 256, time_limit_s: float = 1.0) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"max_pending must be an int of at least 1, got {max_pending!r}")
        if time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be > 0, got {time_limit_s}")
        self.max_pending = max_pending
        self.time_limit_s = time_limit_s
        self._forget()
        FORK_RESETS.add(self, BackgroundSolver._forget)

    def _forget(self) -> None:
        """Fresh state: at construction, and in a forked child (no thread, possibly a lock held)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: deque[tuple[Hashable, Callable[[], None]]] = deque()
        self._pending: set[Hashable] = set()  # waiting or being solved: the dedupe set
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.counts: dict[str, int] = dict.fromkeys(
            ("queued", "already_queued", "queue_full", "solved", "failed"), 0
        )

    @property
    def pending(self) -> int:
        """Patterns waiting or being solved."""
        with self._lock:
            return len(self._pending)

    @property
    def started(self) -> bool:
        """Whether the thread has been started (in this process)."""
        return self._thread is not None

    def submit(self, key: Hashable, job: Callable[[], None]) -> BackgroundOutcome:
        """Queue ``job`` (which solves and caches one pattern) unless ``key`` is already pending or
        the queue is full. Never waits for a solve; raises only if the thread cannot be started
        (the request's guard then serves Team Draft)."""
        with self._lock:
            if key in self._pending:
                outcome: BackgroundOutcome = "already_queued"
            elif len(self._pending) >= self.max_pending:
                outcome = "queue_full"
            else:
                outcome = "queued"
                if self._thread is None:
                    # Started before anything is queued: if the process cannot start a thread,
                    # the error reaches the request's guard (solver_error) and nothing is left
                    # pending for a thread that does not exist.
                    thread = threading.Thread(
                        target=self._run, name="interleave-sdk-solver", daemon=True
                    )
                    thread.start()
                    self._thread = thread
                self._pending.add(key)
                self._jobs.append((key, job))
                self._idle.clear()
                self._wake.notify()
            self.counts[outcome] += 1
        return outcome

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued pattern is done (tests, benchmarks, a warm-up step); True if so."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._wake.wait()
                key, job = self._jobs.popleft()
            try:
                job()
            except Fallback:  # e.g. infeasible, or over even this time limit: counted, not logged
                outcome = "failed"
            except Exception:  # a defect must not end the thread; say so once per failure
                logger.exception("interleave-sdk: background solve failed")
                outcome = "failed"
            else:
                outcome = "solved"
            with self._lock:
                self._pending.discard(key)
                self.counts[outcome] += 1
                if not self._pending:
                    self._idle.set()


#: The process's background solver, shared by the registered methods (one thread at most).
SHARED_BACKGROUND_SOLVER = BackgroundSolver()


class OptimizedInterleaver:
    """Optimized interleaving as a registered method: ``(rankings, k, rng) -> Interleaving``.

    ``credit``: ``"linear"`` or ``"inverse"`` (see the module docstring). ``time_budget_ms``: the
    most a cold pattern may add to a request (enumerating the allowed lists plus HiGHS, whose own
    ``time_limit`` is set to what is left); past it this request serves Team Draft and the pattern
    is tried again next time. ``max_candidates``: the most allowed lists enumerated (two disjoint
    top-10 lists have 1,024; top-12, 4,096). ``cache_size``: solved patterns kept. ``clock``:
    seconds, monotonic (injectable for tests). ``solver_cost``: the learnt cost of a HiGHS call
    that gates starting one (shared by the registered methods; see :class:`SolverCost`).
    ``background``: ``True`` (the default) hands a pattern whose solve does not fit the budget to
    the process's :class:`BackgroundSolver` (``detail["background"]`` says what became of it), a
    :class:`BackgroundSolver` of your own uses that one, ``False`` solves only inline (a skipped
    pattern is then solved only by an occasional probe request).
    """

    def __init__(
        self,
        name: str,
        credit: Credit = "linear",
        *,
        time_budget_ms: float = 5.0,
        max_candidates: int = 4096,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.perf_counter,
        solver_cost: SolverCost | None = None,
        background: bool | BackgroundSolver = True,
    ) -> None:
        if credit not in CREDITS:
            raise ValueError(f"credit must be one of {', '.join(CREDITS)}; got {credit!r}")
        if time_budget_ms < 0:
            raise ValueError(f"time_budget_ms must be >= 0, got {time_budget_ms}")
        if max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1, got {max_candidates}")
        self.name = name
        self.credit: Credit = credit
        self.time_budget_ms = time_budget_ms
        self.max_candidates = max_candidates
        self.cache = PatternCache(cache_size)
        self.clock = clock
        self.solver_cost = SHARED_SOLVER_COST if solver_cost is None else solver_cost
        if isinstance(background, BackgroundSolver):
            self.background: BackgroundSolver | None = background
        elif background is True:
            self.background = SHARED_BACKGROUND_SOLVER
        elif background is False:
            self.background = None
        else:
            raise ValueError(f"background must be True, False or a BackgroundSolver; got {background!r}")

    def __call__(self, rankings: Rankings, k: int, rng: random.Random) -> Interleaving:
        names = list(rankings)
        if len(names) != 2:
            return self._fallback(rankings, k, rng, Fallback("not_two_arms", arms=len(names)))
        name_a, name_b = names
        # Reading the tops is the arms' business: a stream that raises here is a bad arm, not a
        # reason to fall back, so this stays outside the guarded part.
        top_a, top_b = _head(rankings[name_a], k), _head(rankings[name_b], k)
        try:
            pattern = self._pattern(top_a, top_b, k)
            distribution, cached = self._distribution(pattern)
        except Fallback as why:
            return self._fallback(rankings, k, rng, why)
        except Exception as exc:  # the solver stack must never fail a request
            error = Fallback("solver_error", error=f"{type(exc).__name__}: {exc}"[:200])
            return self._fallback(rankings, k, rng, error)
        index = distribution.pick(rng.random())
        choices = distribution.choices[index]
        items, teams = _build(name_a, top_a, name_b, top_b, choices)
        detail = {
            "credit": self.credit,
            "choices": choices,
            # absent items are credited at rank len(top) + 1: the analysis needs these lengths
            "top_lengths": {name_a: len(top_a), name_b: len(top_b)},
            "candidates": distribution.candidates,
            "support": len(distribution.choices),
            "cache": "hit" if cached else "miss",
        }
        return Interleaving(tuple(items), tuple(teams), self.name, detail)

    def register(self) -> OptimizedInterleaver:
        """Register this instance under its name, with its rebuild for replay; returns it."""
        register(self.name)(self)
        register_rebuild(self.name)(self.rebuild)
        return self

    def rebuild(self, rankings: Rankings, k: int, detail: Mapping[str, Any]) -> Interleaving:
        """The logged list again, from the arms' top lists and ``detail["choices"]`` alone."""
        names = list(rankings)
        if len(names) != 2:
            raise ValueError(f"an optimized list has two arms, the record has {len(names)}")
        choices = detail.get("choices")
        if not isinstance(choices, str) or len(choices) > k:
            raise ValueError(f"detail lacks valid choices: {choices!r}")
        name_a, name_b = names
        top_a, top_b = _head(rankings[name_a], k), _head(rankings[name_b], k)
        items, teams = _build(name_a, top_a, name_b, top_b, choices)
        return Interleaving(tuple(items), tuple(teams), self.name, dict(detail))

    def solve(self, top_a: list[Hashable], top_b: list[Hashable], k: int) -> Distribution:
        """The distribution for two top lists (cached by pattern); raises :class:`Fallback`."""
        return self._distribution(self._pattern(top_a, top_b, k))[0]

    # -- the steps ---------------------------------------------------------------------------

    def _fallback(
        self, rankings: Rankings, k: int, rng: random.Random, why: Fallback
    ) -> Interleaving:
        served = team_draft(rankings, k, rng)
        detail = {"fallback": why.reason, "requested": self.name, **why.facts}
        return dataclasses.replace(served, detail=detail)

    def _pattern(self, top_a: list[Hashable], top_b: list[Hashable], k: int) -> Pattern:
        position_a = {item: i for i, item in enumerate(top_a)}
        if len(position_a) != len(top_a) or len(set(top_b)) != len(top_b):
            raise Fallback("duplicate_ids")
        b_in_a = tuple(position_a.get(item, -1) for item in top_b)
        n = min(k, len(top_a) + b_in_a.count(-1))  # the union's size, capped at k
        return (self.credit, n, len(top_a), b_in_a)

    def _distribution(self, pattern: Pattern) -> tuple[Distribution, bool]:
        entry = self.cache.get(pattern)
        if isinstance(entry, Distribution):
            return entry, True
        if entry is not None:  # a pattern already proven infeasible: no need to solve again
            raise Fallback(entry, cached=True)
        _LOADER.check()
        deadline = self.clock() + self.time_budget_ms / 1e3
        background = self.background
        try:
            distribution = self._solve_and_cache(pattern, deadline, probe=background is None)
        except Fallback as why:
            if why.reason == "time_budget" and background is not None:
                # This request keeps its budget; the pattern is solved off the request path.
                job = functools.partial(self._solve_in_background, pattern, background.time_limit_s)
                why.facts["background"] = background.submit((id(self), pattern), job)
            raise
        return distribution, False

    def _solve_and_cache(self, pattern: Pattern, deadline: float, *, probe: bool) -> Distribution:
        try:
            distribution = _solve(
                pattern, self.max_candidates, deadline, self.clock, self.solver_cost, probe=probe
            )
        except Fallback as why:
            if why.reason in ("infeasible", "inexact_solution", "too_many_candidates"):
                self.cache.put(pattern, why.reason)  # deterministic in the pattern
            raise
        self.cache.put(pattern, distribution)
        return distribution

    def _solve_in_background(self, pattern: Pattern, time_limit_s: float) -> None:
        if pattern in self.cache:  # solved (or proven infeasible) since it was queued
            return
        self._solve_and_cache(pattern, self.clock() + time_limit_s, probe=False)


class _SolverLoader:
    """Imports SciPy's solver once, off the request path; requests only ask whether it is ready."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.ready = False
        self.error: str | None = None
        FORK_RESETS.add(self, _SolverLoader._forget)

    def _forget(self) -> None:
        """In a forked child: a load in flight in the parent never finishes here; start anew."""
        self._lock = threading.Lock()
        if not self.ready:
            self._thread = None

    def load(self) -> None:
        """Import now, in the calling thread (what :func:`warm_up` and the background thread do)."""
        try:
            import scipy.optimize
            import scipy.sparse  # noqa: F401
        except ImportError as exc:
            self.error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            self.ready = True

    def check(self) -> None:
        """Return if the solver is loaded; else raise the fallback (starting the load once)."""
        if self.ready:
            return
        if self.error is not None:
            raise Fallback("scipy_missing", install=INSTALL_HINT)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self.load, name="interleave-sdk-solver-load", daemon=True
                )
                self._thread.start()
        raise Fallback("solver_loading")

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_LOADER = _SolverLoader()
SHARED_SOLVER_COST = SolverCost()


def warm_up() -> bool:
    """Load the LP solver now (call at start-up); True when optimized interleaving can solve.

    Without it the first requests that need a solve serve Team Draft while SciPy loads in the
    background. False means SciPy is not installed (``pip install 'interleave-sdk[optimized]'``).
    """
    if not _LOADER.ready:
        _LOADER.load()
    return _LOADER.ready


def _head(ranking: Ranking, k: int) -> list[Hashable]:
    """The first ``k`` items (fewer when the ranking ends), read by increasing index only."""
    top: list[Hashable] = []
    try:
        for i in range(k):
            top.append(ranking[i])
    except IndexError:
        pass
    return top


def _build(
    name_a: str, top_a: list[Hashable], name_b: str, top_b: list[Hashable], choices: str
) -> tuple[list[Hashable], list[str]]:
    """Replay ``choices`` on two top lists; the team of an item is the arm it was taken from
    (for ``=``, the arm ranking it higher, A on a tie). Raises ``ValueError`` if they disagree."""
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    pa = pb = 0
    for choice in choices:
        while pa < len(top_a) and top_a[pa] in placed:
            pa += 1
        while pb < len(top_b) and top_b[pb] in placed:
            pb += 1
        has_a, has_b = pa < len(top_a), pb < len(top_b)
        same = has_a and has_b and top_a[pa] == top_b[pb]
        if choice == "=" and same:
            item, team = top_a[pa], name_a if pa <= pb else name_b
        elif choice == "a" and has_a and not same:
            item, team = top_a[pa], name_a
        elif choice == "b" and has_b and not same:
            item, team = top_b[pb], name_b
        else:
            raise ValueError(f"choices {choices!r} do not fit these lists at position {len(items)}")
        placed.add(item)
        items.append(item)
        teams.append(team)
    return items, teams


def _transitions(pattern: Pattern) -> tuple[list[list[int]], int]:
    """The pattern's prefix states and their moves: rows ``[item_a, next_a, code_a, item_b, next_b]``.

    A prefix of an allowed list is ``A[:i] ∪ B[:j]``, so a state is the pair of pointers ``(i, j)``
    moved past placed items; there are at most ``(len A + 1) * (len B + 1)`` of them, however many
    lists pass through. Items are union indices (A's top list first, then B's items not in A);
    ``-1`` marks a list with nothing left; ``code_a`` is 0 (``a``) or 2 (``=``, both tops equal,
    then there is no B move). State 0 is the empty prefix.
    """
    _, _, len_a, b_in_a = pattern
    b_idx: list[int] = []
    fresh = len_a
    for i in b_in_a:
        b_idx.append(i if i >= 0 else fresh)
        fresh += (i < 0)
    len_b = len(b_idx)
    pos_b = [len_b] * fresh  # rank in B (0-based) of every union item; len_b when absent
    for j, u in enumerate(b_idx):
        pos_b[u] = j

    def settle(i: int, j: int) -> tuple[int, int]:
        # A[i] is placed iff B[:j] holds it; B[j] is placed iff A[:i] holds it (ids are unique).
        while True:
            moved = False
            while i < len_a and pos_b[i] < j:
                i, moved = i + 1, True
            while j < len_b and b_idx[j] < i:
                j, moved = j + 1, True
            if not moved:
                return i, j

    ids: dict[tuple[int, int], int] = {settle(0, 0): 0}
    order = [settle(0, 0)]
    rows: list[list[int]] = []
    for i, j in order:  # grows while it is walked: every reachable state once
        item_a = i if i < len_a else -1
        item_b = b_idx[j] if j < len_b else -1
        row = [item_a, -1, 2 if item_a >= 0 and item_a == item_b else 0, item_b, -1]
        if item_a >= 0:
            row[1] = ids.setdefault(settle(i + 1, j), len(order))
            if row[1] == len(order):
                order.append(settle(i + 1, j))
        if item_b >= 0 and row[2] == 0:
            row[4] = ids.setdefault(settle(i, j + 1), len(order))
            if row[4] == len(order):
                order.append(settle(i, j + 1))
        rows.append(row)
    return rows, fresh


def count_lists(pattern: Pattern) -> int:
    """How many allowed lists the pattern has, counted over the prefix states (no enumeration):
    cheap enough to decide on the candidate cap and the expected solver cost before any work."""
    rows, _ = _transitions(pattern)
    paths = {0: 1}
    for _ in range(pattern[1]):
        following: dict[int, int] = {}
        for state, count in paths.items():
            for child in (rows[state][1], rows[state][4]):
                if child >= 0:
                    following[child] = following.get(child, 0) + count
        paths = following
    return sum(paths.values())


def _enumerate(
    pattern: Pattern, max_candidates: int, deadline: float, clock: Callable[[], float]
) -> tuple[Any, Any]:
    """Every allowed list of the pattern: (choice codes, union indices), two ``(lists, n)`` arrays.

    Level by level over the prefix states, with numpy, so the candidate cap and the deadline are
    checked before the work grows past them; the lists are read back through parent pointers.
    """
    import numpy as np

    n = pattern[1]
    rows, _ = _transitions(pattern)
    table = np.asarray(rows, dtype=np.intp)
    item_a, next_a, code_a, item_b, next_b = table.T
    states = np.zeros(1, dtype=np.intp)
    levels: list[tuple[Any, Any, Any]] = []
    for _ in range(n):
        if clock() > deadline:
            raise Fallback("time_budget", stage="enumeration")
        take_a = next_a[states] >= 0
        take_b = next_b[states] >= 0
        if int(take_a.sum() + take_b.sum()) > max_candidates:
            raise Fallback("too_many_candidates", limit=max_candidates)
        index = np.arange(states.size)
        parent = np.concatenate([index[take_a], index[take_b]])
        item = np.concatenate([item_a[states][take_a], item_b[states][take_b]])
        code = np.concatenate([code_a[states][take_a], np.ones(int(take_b.sum()), dtype=np.intp)])
        states = np.concatenate([next_a[states][take_a], next_b[states][take_b]])
        levels.append((parent, item, code))
    m = states.size
    items = np.empty((m, n), dtype=np.intp)
    codes = np.empty((m, n), dtype=np.intp)
    back = np.arange(m)
    for t in range(n - 1, -1, -1):
        parent, item, code = levels[t]
        items[:, t] = item[back]
        codes[:, t] = code[back]
        back = parent[back]
    return codes, items


def credits_of(pattern: Pattern) -> list[float]:
    """``delta`` of every union item (A's top first, then B's items not in A), per the credit."""
    credit, _, len_a, b_in_a = pattern
    len_b = len(b_in_a)
    size = len_a + sum(1 for i in b_in_a if i < 0)
    rank_a = [len_a + 1] * size
    rank_b = [len_b + 1] * size
    for i in range(len_a):
        rank_a[i] = i + 1
    fresh = len_a
    for j, i in enumerate(b_in_a):
        if i >= 0:
            rank_b[i] = j + 1
        else:
            rank_b[fresh] = j + 1
            fresh += 1
    if credit == "linear":
        return [float(rb - ra) for ra, rb in zip(rank_a, rank_b, strict=True)]
    return [1.0 / ra - 1.0 / rb for ra, rb in zip(rank_a, rank_b, strict=True)]


def sensitivity(deltas: list[float]) -> float:
    """``s(L)`` of a list given the credit at each of its positions (module docstring)."""
    n = len(deltas)
    if n == 0:
        return 0.0
    norm = sum(1.0 / i for i in range(1, n + 1))
    w_a = sum(1.0 / (i + 1) for i, d in enumerate(deltas) if d > 0) / norm
    w_b = sum(1.0 / (i + 1) for i, d in enumerate(deltas) if d < 0) / norm
    total = w_a + w_b
    if total <= 0:
        return 0.0
    entropy = 0.0
    for share in (w_a / total, w_b / total):
        if share > 0:
            entropy -= share * math.log2(share)
    return total * entropy


def _solve(
    pattern: Pattern,
    max_candidates: int,
    deadline: float,
    clock: Callable[[], float],
    cost: SolverCost,
    *,
    probe: bool = True,
) -> Distribution:
    try:
        import numpy as np
        from scipy.optimize import linprog
        from scipy.sparse import csc_array
    except ImportError as exc:
        raise Fallback("scipy_missing", install=INSTALL_HINT) from exc

    n = pattern[1]
    if n == 0:
        return Distribution(("",), (1.0,), 1, 0.0)
    candidates = count_lists(pattern)
    if candidates > max_candidates:
        raise Fallback("too_many_candidates", limit=max_candidates, candidates=candidates)
    if not cost.allows(deadline - clock(), candidates, probe=probe):
        expected = round((cost.estimate_s(candidates) or 0.0) * 1e3, 3)
        raise Fallback("time_budget", stage="predicted", expected_ms=expected, candidates=candidates)
    began = clock()  # the learnt cost covers enumeration, model building and the solve
    codes, lists = _enumerate(pattern, max_candidates, deadline, clock)
    delta = np.asarray(credits_of(pattern))
    per_position = delta[lists]  # (lists, n): the credit at each position of each list
    weights = 1.0 / np.arange(1, n + 1)
    weights /= weights.sum()
    w_a = (per_position > 0) @ weights
    w_b = (per_position < 0) @ weights
    total = w_a + w_b
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, w_a / np.where(total > 0, total, 1.0), 0.5)
        entropy = -(
            np.where(share > 0, share * np.log2(np.where(share > 0, share, 1.0)), 0.0)
            + np.where(share < 1, (1 - share) * np.log2(np.where(share < 1, 1 - share, 1.0)), 0.0)
        )
    s = np.where(total > 0, total * entropy, 0.0)
    a_eq = np.vstack([np.ones(len(lists)), per_position.T])
    b_eq = np.zeros(n + 1)
    b_eq[0] = 1.0
    started = clock()
    left = deadline - started
    if left <= 0:
        raise Fallback("time_budget", stage="before_solver", candidates=len(lists))
    # Sparse in, presolve off: for ~1,000 columns and ~11 rows, converting and presolving cost
    # more than the simplex itself.
    result = linprog(
        -s,
        A_eq=csc_array(a_eq),
        b_eq=b_eq,
        bounds=(0, None),
        method="highs",
        options={"time_limit": left, "presolve": False},
    )
    cost.observe(clock() - began, len(lists))
    if result.status == 2:
        raise Fallback("infeasible", candidates=len(lists))
    if result.status == 1:  # HiGHS stopped at its time limit
        raise Fallback("time_budget", stage="solver", candidates=len(lists))
    if result.status != 0 or result.x is None:
        raise Fallback("solver_error", status=int(result.status), message=str(result.message))
    x = np.clip(result.x, 0.0, None)
    support = np.flatnonzero(x > 1e-12)
    # Polish: solve the equalities again on the support alone, so rounding in the simplex does not
    # leave a bias larger than the tolerance; refuse the answer if that is not possible.
    polished, *_ = np.linalg.lstsq(a_eq[:, support], b_eq, rcond=None)
    if polished.min() >= 0:
        x_s = polished
    else:
        x_s = x[support]
    residual = np.abs(a_eq[:, support] @ x_s - b_eq)
    cumulative_bias = np.abs(np.cumsum(per_position[support].T @ x_s))
    if residual.max() > UNBIASED_TOLERANCE or cumulative_bias.max() > UNBIASED_TOLERANCE:
        raise Fallback("inexact_solution", candidates=len(lists), residual=float(residual.max()))
    cumulative = tuple(float(c) for c in np.cumsum(x_s))
    return Distribution(
        tuple("".join("ab="[c] for c in codes[i]) for i in support),
        cumulative,
        len(lists),
        float(s[support] @ x_s),
    )


optimized_linear = OptimizedInterleaver("optimized_v1", "linear").register()
optimized_inverse = OptimizedInterleaver("optimized_inverse_v1", "inverse").register()
