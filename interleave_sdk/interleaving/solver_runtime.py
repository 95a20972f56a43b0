"""The optimized method's solver runtime: the pattern cache, the cost model that gates a solve,
the background solver thread and the SciPy loader. Nothing here starts a thread or imports SciPy
at import time; every thread starts on first need and is forgotten in a forked child.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Literal

from ..forking import FORK_RESETS
from ..reasons import MethodFallback
from .optimized_lp import INSTALL_HINT, Distribution, Fallback, Pattern

logger = logging.getLogger("interleave_sdk")

# What became of a pattern handed to the background solver (logged as ``detail["background"]``).
BackgroundOutcome = Literal["queued", "already_queued", "queue_full"]


class PatternCache:
    """A bounded, thread-safe LRU of solved patterns (and of patterns known to be infeasible)."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache_size must be >= 0, got {size}")
        self.size = size
        self._entries: OrderedDict[Pattern, Distribution | MethodFallback] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Pattern) -> Distribution | MethodFallback | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Pattern, entry: Distribution | MethodFallback) -> None:
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
