"""``@interleaved``: the front door. Validates every option at decoration, then hands each call to
the engine (:mod:`interleave_sdk.engine`), which decides, runs the arms, merges and records.

Which callable serves what (docs/concepts.md has the full table): the decorated function serves
whenever a request is not interleaved (kill switch, out of sample, every fail-open path), so the
caller then gets the very object the undecorated function returns. ``rankers[name]`` serves arm
``name`` in interleaved requests, in mode ``name`` and when pinned to it. ``rankers[baseline]`` may
be omitted: the decorated function is then also the baseline arm inside interleaved requests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, cast

import wrapt

from .clock import Clock
from .config.providers import ConfigProvider
from .config.ssm import SSMConfig
from .engine import Engine
from .execution import ArmExecutor
from .frames import SOURCE_COLUMN
from .observability.metrics import EmfMetrics
from .observability.sinks import JsonLineSink
from .options import ARM_NAME, INTERLEAVE, Options, Processor, Ranker, Signature, Sink, default_clock
from .prefetch import CONFIG_ATTR
from .streaming import is_streaming, stream_function

P = ParamSpec("P")
R = TypeVar("R")


def interleaved(
    rankers: Mapping[str, Ranker],
    *,
    config: ConfigProvider | None = None,
    user_key: str = "user_id",
    item_col: str = "item_id",
    k: int | None = None,
    baseline: str = "A",
    experiment: str = "default",
    sink: Sink | None = None,
    executor: ArmExecutor | None = None,
    clock: Clock | None = None,
    id_factory: Callable[[], str] | None = None,
    metrics: EmfMetrics | bool = True,
    processors: Sequence[Processor] = (),
    candidates: Callable[..., Any] | str | None = None,
    enabled: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Compare rankers by interleaving them inside the decorated function's requests.

    ``rankers`` maps arm names to rankers (callables taking the decorated function's arguments,
    or method names on the same instance); the decorated function is the ``baseline`` arm unless
    ``rankers[baseline]`` names another callable. Three or more arms multileave. ``processors``
    are ``record -> record | None`` callables run on each log record before the ``sink``;
    ``candidates`` is a shared stage run once per request whose result every arm receives as the
    keyword argument ``candidates``. An ``async def`` function is decorated into a coroutine
    function running the same procedure with the arms as tasks; a generator function is refused.
    See docs/quickstart.md for every option. ``enabled=False``
    returns the function undecorated. Every option is checked here; a wrong one raises
    ``TypeError`` or ``ValueError`` naming the fix.
    """
    options = _options(
        rankers, config=config, user_key=user_key, item_col=item_col, k=k, baseline=baseline,
        experiment=experiment, sink=sink, executor=executor, clock=clock, id_factory=id_factory,
        metrics=metrics, processors=processors, candidates=candidates,
    )  # fmt: skip
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if not enabled:
            return func
        engine = _engine(func, options)
        if inspect.iscoroutinefunction(getattr(func, "__func__", func)):

            @wrapt.decorator
            async def async_wrapper(
                wrapped: Callable[..., Any],
                instance: Any,
                args: tuple[Any, ...],
                kwargs: dict[str, Any],
            ) -> Any:
                return await engine.call_async(wrapped, instance, args, kwargs)

            return cast(Callable[P, R], _with_config(async_wrapper(func), options.config))

        @wrapt.decorator
        def wrapper(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            return engine(wrapped, instance, args, kwargs)

        return cast(Callable[P, R], _with_config(wrapper(func), options.config))

    return decorate


def _with_config(proxy: Any, config: ConfigProvider) -> Any:
    """The wrapper, carrying its provider for :func:`interleave_sdk.prefetch` (on the wrapper only)."""
    setattr(proxy, CONFIG_ATTR, config)
    return proxy


def _options(
    rankers: Mapping[str, Ranker],
    *,
    config: ConfigProvider | None,
    user_key: str,
    item_col: str,
    k: int | None,
    baseline: str,
    experiment: str,
    sink: Sink | None,
    executor: ArmExecutor | None,
    clock: Clock | None,
    id_factory: Callable[[], str] | None,
    metrics: EmfMetrics | bool,
    processors: Sequence[Processor],
    candidates: Callable[..., Any] | str | None,
) -> Options:
    """Every option checked, with a message naming the fix; the defaults filled in."""
    if not isinstance(baseline, str) or not _is_arm_name(baseline):
        raise ValueError(
            f"baseline must be an arm name matching {ARM_NAME.pattern} (not {INTERLEAVE}), got {baseline!r}"
        )
    if not isinstance(rankers, Mapping):
        raise TypeError(f"rankers must be a mapping of arm name -> ranker, got {type(rankers).__name__}")
    for name, ranker in rankers.items():
        if not isinstance(name, str) or not _is_arm_name(name):
            raise ValueError(
                f"arm name {name!r} is not valid: use 1 to 32 letters, digits, '_' or '-', starting with "
                f"a letter, and not {INTERLEAVE}"
            )
        if not (
            callable(ranker) or is_streaming(ranker) or (isinstance(ranker, str) and ranker.isidentifier())
        ):
            raise TypeError(
                f"ranker {name!r} must be a callable or a method name (or a streaming ranker with "
                f"rank_stream()), got {ranker!r}"
            )
    if not any(name != baseline for name in rankers):
        raise ValueError(
            f"rankers needs at least one arm besides the baseline {baseline!r} "
            f"(got {sorted(rankers)}); the decorated function is the baseline arm"
        )
    if k is not None and (type(k) is not int or k < 1):
        raise ValueError(f"k must be a positive int or None (the baseline's length), got {k!r}")
    streaming = sorted(name for name, ranker in rankers.items() if is_streaming(ranker))
    if streaming and k is None:
        raise ValueError(
            f"ranker(s) {', '.join(map(repr, streaming))} stream their items, so the list length is "
            "unknown until pulled: pass k= (how many items to serve)"
        )
    if not isinstance(experiment, str) or not experiment:
        raise TypeError(
            f"experiment must be a non-empty str (it salts the sampling hash), got {experiment!r}"
        )
    if not isinstance(user_key, str) or not user_key.isidentifier():
        raise TypeError(f"user_key must name a parameter of the decorated function, got {user_key!r}")
    if not isinstance(item_col, str):
        raise TypeError(f"item_col must be the name (str) of the item id column, got {item_col!r}")
    if item_col == SOURCE_COLUMN:
        raise ValueError(
            f"item_col={item_col!r} is the column the SDK writes the credited arm into in a merged "
            "list: name the column holding your item ids (e.g. item_col='item_id')"
        )
    if config is not None and (isinstance(config, Mapping) or not callable(getattr(config, "get", None))):
        raise TypeError(
            f"config must be a provider with a get() method, got {config!r} "
            "(for fixed settings use StaticConfig(mode=..., sampling_rate=...))"
        )
    if sink is not None and not callable(sink):
        raise TypeError(f"sink must be a callable taking the record dict, got {sink!r}")
    if executor is not None and not isinstance(executor, ArmExecutor):
        raise TypeError(f"executor must be an ArmExecutor, got {executor!r}")
    if clock is not None and not (
        callable(getattr(clock, "monotonic", None)) and callable(getattr(clock, "now", None))
    ):
        raise TypeError(f"clock must have monotonic() and now() methods, got {clock!r}")
    if id_factory is not None:
        _check_id_factory(id_factory)
    if metrics is True:
        emf: EmfMetrics | None = EmfMetrics()
    elif metrics is False:
        emf = None
    elif isinstance(metrics, EmfMetrics):
        emf = metrics
    else:
        raise TypeError(f"metrics must be True, False or an EmfMetrics(...), got {metrics!r}")
    if isinstance(processors, (str, bytes)) or not isinstance(processors, Sequence):
        raise TypeError(
            f"processors must be a list of callables (record -> record or None), got {processors!r}"
        )
    for processor in processors:
        if not callable(processor):
            raise TypeError(
                f"each processor must be a callable (record -> record or None), got {processor!r}"
            )
    if candidates is not None and not (
        callable(candidates) or (isinstance(candidates, str) and candidates.isidentifier())
    ):
        raise TypeError(f"candidates must be a callable or a method name, got {candidates!r}")
    return Options(
        rankers=dict(rankers),
        baseline=baseline,
        config=config if config is not None else SSMConfig(),
        user_key=user_key,
        item_col=item_col,
        k=k,
        experiment=experiment,
        sink=sink if sink is not None else JsonLineSink(),
        executor=executor if executor is not None else ArmExecutor(),
        clock=default_clock(clock),
        id_factory=id_factory,
        metrics=emf,
        processors=tuple(processors),
        candidates=candidates,
    )


def _engine(func: Callable[..., Any], options: Options) -> Engine:
    """The engine for ``func``, after the checks that need the function itself."""
    target = getattr(func, "__func__", func)
    name = getattr(target, "__qualname__", repr(target))
    if inspect.isasyncgenfunction(target):
        raise TypeError(
            f"{name!r} is an async generator function: the decorated function must return the served "
            "list; give streaming rankers in rankers= instead"
        )
    if inspect.isgeneratorfunction(target):
        raise TypeError(
            f"{name!r} is a generator function: the decorated function must return the served list; "
            "give streaming rankers in rankers= instead"
        )
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):  # builtins and the like: nothing to check
        parameters = []
    names = [p.name for p in parameters]
    var_kw = any(p.kind is p.VAR_KEYWORD for p in parameters)
    if parameters and options.user_key not in names and not var_kw:
        raise TypeError(
            f"{name!r} has no parameter {options.user_key!r}; "
            f"pass user_key= naming the parameter that holds the user id"
        )
    method_like = isinstance(func, classmethod) or (
        not isinstance(func, staticmethod) and bool(names) and names[0] in ("self", "cls")
    )
    by_name = [arm for arm, r in options.rankers.items() if isinstance(r, str)]
    if isinstance(options.candidates, str):
        by_name.append("candidates")
    if by_name and not method_like:
        raise TypeError(
            f"{', '.join(map(repr, by_name))} given by method name, but {name!r} is not a method "
            "(no self or cls parameter; a staticmethod has no instance): pass the callable instead"
        )
    if options.candidates is not None:
        if parameters and "candidates" not in names and not var_kw:
            raise TypeError(
                f"candidates= is set, so {name!r} is called with candidates=...: add a parameter "
                "`candidates=None` (it stays None when the candidate stage fails)"
            )
        for arm, ranker in options.rankers.items():
            fn = stream_function(ranker) if is_streaming(ranker) else ranker
            if callable(fn) and not _accepts(fn, "candidates"):
                raise TypeError(
                    f"candidates= is set, so ranker {arm!r} must accept the keyword argument candidates"
                )
    user_index, user_default, candidates_index = None, None, None
    for i, p in enumerate(parameters):
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and all(
            q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD) for q in parameters[:i]
        )
        if p.name == options.user_key:
            if positional:
                user_index = i
            if p.default is not p.empty:
                user_default = p.default
        if p.name == "candidates" and positional:
            candidates_index = i
    signature = Signature(method_like, user_index, user_default, candidates_index)
    return Engine(options, signature)


def _accepts(fn: Callable[..., Any], keyword: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True  # cannot tell: let the request show it (an arm error, logged)
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in parameters)


def _check_id_factory(id_factory: Callable[[], str]) -> None:
    """Called once here, so a factory that cannot give ids fails now rather than per request."""
    if not callable(id_factory):
        raise TypeError(f"id_factory must be a callable returning a str, got {id_factory!r}")
    try:
        sample = id_factory()
    except Exception as exc:
        raise TypeError(f"id_factory raised when called once to check it: {exc!r}") from exc
    if type(sample) is not str or not sample:
        raise TypeError(f"id_factory must return a non-empty str (ranking ids are text), got {sample!r}")


def _is_arm_name(name: str) -> bool:
    return name != INTERLEAVE and ARM_NAME.fullmatch(name) is not None
