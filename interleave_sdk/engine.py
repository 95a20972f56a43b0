"""The per-call procedure behind ``@interleaved``: decide -> run -> merge -> record.

Each step is a function returning a value: :meth:`Router.decide` a :class:`~.routing.Decision`,
the arms' run an :class:`~.execution.ArmRun`, :class:`~.merging.Merger` a :class:`~.merging.Merge`,
and :class:`~.recording.Recorder` reads them all into the call's one line, written exactly once in
a ``finally``. The procedure (:meth:`Engine.steps`) is a generator that yields whatever user code
must run and receives its outcome; the two drivers in :mod:`interleave_sdk.execution` run those
actions on threads or on the event loop, the only difference between ``def`` and ``async def``.

The decorated function (the *handler*) runs at most once: as the baseline arm of an interleaved
request, or to serve when nothing usable was computed. Its own exceptions (any ``BaseException``)
reach the caller unchanged, after its line is written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from .arms import Arms, resolve
from .candidates import Candidates, given_by_caller, judged
from .context import _LAST_RANKING_ID, _LAST_SERVED
from .execution import INFINITY, ArmOutcome, ArmRun, Call, Cancelled, Steps, adrive, drive
from .merging import Merge, Merger
from .observability.sinks import JsonLineSink
from .options import Options, Signature
from .recording import Recorder, Served
from .routing import Decision, Router

logger = logging.getLogger("interleave_sdk")


class _CancelledRun(Exception):
    """The caller's task was cancelled while an action ran (async driver)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class Engine:
    """The engine behind one decorated function: its rules, and the per-call procedure."""

    def __init__(self, options: Options, signature: Signature) -> None:
        self.baseline = options.baseline
        self.clock = options.clock
        self.executor = options.executor
        self.id_factory = options.id_factory
        self.signature = signature
        self.candidate_stage = options.candidates
        self.arms = Arms(options.rankers, options.baseline, options.item_col, options.k, options.clock)
        self.router = Router(
            options.config, options.baseline, self.arms.names, options.experiment, options.user_key, signature
        )
        #: Records may share their small ``ranks`` maps only when nothing but the SDK's own line
        #: writer sees them: a user's sink or processor may keep or change what it is given.
        share_ranks = not options.processors and type(options.sink) is JsonLineSink
        self.merger = Merger(self.arms, options.experiment, share_ranks)
        metrics = () if options.metrics is None else (options.metrics.process,)
        self.recorder = Recorder(
            options.experiment, options.baseline, self.arms.baseline_ranker is not None, options.item_col,
            (*metrics, *options.processors), options.sink, share_ranks,
        )  # fmt: skip

    def __call__(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        ranking_id, started, t0 = self._begin()
        served: Served | None = None
        try:
            served = drive(
                self.steps(ranking_id, started, t0, wrapped, instance, args, kwargs),
                self.executor,
                self.clock,
            )
        finally:
            self._end(served, ranking_id, started, t0)
        assert served is not None
        return served.answer()

    async def call_async(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The same procedure for an ``async def`` handler, its actions run on the event loop."""
        ranking_id, started, t0 = self._begin()
        served: Served | None = None
        try:
            steps = self.steps(ranking_id, started, t0, wrapped, instance, args, kwargs)
            served = await adrive(steps, self.executor, self.clock)
        finally:
            self._end(served, ranking_id, started, t0)
        assert served is not None
        return served.answer()

    def steps(
        self,
        ranking_id: str,
        started: Any,
        t0: float,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Steps[Served]:
        """The procedure: decide, run the arms, merge; then the handler if nothing usable served."""
        decision: Decision | None = None
        candidates: Candidates | None = None
        merge: Merge | None = None
        handler: ArmOutcome | None = None
        internal: BaseException | None = None
        try:
            decision = self.router.decide(ranking_id, instance, args, kwargs)
            if decision.arms and decision.reason is None:
                settings = decision.snapshot.settings
                deadline = t0 + settings.timeout_ms / 1e3
                run_kwargs: dict[str, Any] | None = kwargs
                if self.candidate_stage is not None and not given_by_caller(
                    self.signature, instance, args, kwargs
                ):
                    stage = resolve("candidates", self.candidate_stage, instance)
                    late = deadline if decision.interleaving else None
                    outcome = _checked((yield Call("candidates", stage, args, kwargs, late or INFINITY)))
                    candidates = judged(outcome, kwargs, late, settings.timeout_ms)
                    run_kwargs = candidates.kwargs
                if run_kwargs is not None and not decision.interleaving:
                    arm = decision.arms[0]
                    fn = self.arms.callable(arm, instance, alone=True)
                    merge = self.merger.single(_checked((yield Call(arm, fn, args, run_kwargs))))
                elif run_kwargs is not None:
                    action = self.arms.run(
                        wrapped,
                        instance,
                        args,
                        run_kwargs,
                        parallel=settings.parallel_enabled,
                        deadline=deadline,
                    )
                    run: ArmRun = _checked((yield action))
                    if self.arms.baseline_ranker is None:
                        handler = run.baseline
                    merge = self.merger.interleaved(run, ranking_id, decision.user, settings, deadline)
            if (merge is None or merge.served is None) and handler is None:
                served_kwargs = candidates.kwargs if candidates is not None and candidates.kwargs else kwargs
                handler = _checked((yield Call(self.baseline, wrapped, args, served_kwargs)))
        except _CancelledRun as cancel:
            return Served(
                ranking_id, started, t0, decision, candidates, merge, handler, cancelled=cancel.error
            )
        except Exception as exc:  # a defect of ours: logged, never the caller's problem
            logger.exception("interleave-sdk: internal error, serving the decorated function")
            internal, merge = exc, None
            if handler is None:
                try:
                    handler = _checked((yield Call(self.baseline, wrapped, args, kwargs)))
                except _CancelledRun as cancel:
                    return Served(
                        ranking_id, started, t0, decision, candidates, merge, None, exc, cancel.error
                    )
        return Served(ranking_id, started, t0, decision, candidates, merge, handler, internal)

    def _begin(self) -> tuple[str, Any, float]:
        clock = self.clock
        t0 = clock.monotonic()
        started = clock.now()
        ranking_id = _new_id() if self.id_factory is None else _checked_id(self.id_factory)
        _LAST_RANKING_ID.set(ranking_id)  # visible to the handler while it runs
        return ranking_id, started, t0

    def _end(self, served: Served | None, ranking_id: str, started: Any, t0: float) -> None:
        """Record the call, and make its id the caller's ``last_ranking_id()`` again, whatever
        decorated calls ran inside it (each caller reads its own call's id afterwards)."""
        if served is None:  # cannot happen unless a driver itself broke: still one line
            served = Served(ranking_id, started, t0, internal=RuntimeError("the procedure did not finish"))
        self.recorder.record(served, (self.clock.monotonic() - t0) * 1e3)
        _LAST_RANKING_ID.set(ranking_id)
        arm = None if served.merge is None else served.merge.served
        _LAST_SERVED.set((ranking_id, arm or self.baseline))  # what source_rankers() reads


def _checked(outcome: Any) -> Any:
    """The action's outcome, or the cancellation the async driver reported instead."""
    if isinstance(outcome, Cancelled):
        raise _CancelledRun(outcome.error)
    return outcome


def _new_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex`` writes it.

    Built from the bytes directly: ``uuid.UUID`` validates and converts through an int, a third
    of this step's cost on every call.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def _checked_id(factory: Callable[[], str]) -> str:
    """The factory's id, or a fresh uuid when it fails or returns no usable text (logged)."""
    try:
        value = factory()
    except Exception as exc:
        logger.warning("interleave-sdk: id_factory failed, using a uuid: %r", exc)
        return _new_id()
    if type(value) is not str or not value:
        logger.warning("interleave-sdk: id_factory returned %r, using a uuid", value)
        return _new_id()
    return value
