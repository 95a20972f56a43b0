"""The SDK's error tree, drawn in one place.

Every error the SDK raises derives from :class:`InterleaveError`, so a caller can catch the SDK's
failures without catching its own. The decorator never lets these escape into a handler: it logs
them and serves the baseline (fail-open). They surface directly only from explicit API calls
(building a config, calling :func:`interleave_sdk.interleave`, the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable


class InterleaveError(Exception):
    """Root of every error raised by interleave-sdk."""


class ConfigError(InterleaveError):
    """The experiment configuration could not be obtained or is not valid."""


class InvalidConfigValue(ConfigError, ValueError):
    """A configuration value failed validation; carries the key, the value and what was expected."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"invalid config value for {key!r}: {value!r} (expected {expected})")


class ConfigUnavailable(ConfigError):
    """The configuration source could not be reached (network, throttling, permissions)."""


class UnknownNameError(InterleaveError, KeyError):
    """A name looked up in one of the SDK's registries that is not there; lists the valid names.

    Subclasses set ``kind`` (what the registry holds), so every registry reports misses alike.
    """

    kind = "name"

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = sorted(valid)
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.name!r}; valid {self.kind}s: {', '.join(self.valid)}"


class UnknownMethodError(UnknownNameError):
    """An interleaving method name that is not in the registry; lists the valid names."""

    kind = "interleaving method"


class RankerOutputError(InterleaveError, ValueError):
    """A ranker returned something that cannot be interleaved (not a frame, no ids, duplicates)."""

    def __init__(self, arm: str, problem: str) -> None:
        self.arm = arm
        self.problem = problem
        super().__init__(f"ranker {arm!r} {problem}")


class ArmTimeout(InterleaveError, TimeoutError):
    """A non-baseline arm did not finish within the request's deadline."""

    def __init__(self, arm: str, timeout_ms: float) -> None:
        self.arm = arm
        self.timeout_ms = timeout_ms
        super().__init__(f"ranker {arm!r} did not finish within the {timeout_ms:g} ms deadline")


class StreamError(InterleaveError):
    """A streaming arm failed midway: it raised, yielded junk or a duplicate, or ran out of time.

    ``reason`` is the fallback reason the request logs (``arm_error``, ``invalid_output`` or
    ``timeout``); the ranker's own exception, if any, is the ``__cause__``.
    """

    def __init__(self, arm: str, reason: str, problem: str, produced: int | None = None) -> None:
        self.arm = arm
        self.reason = reason
        self.problem = problem
        self.produced = produced  # items pulled before the failure (the log's arms.<name>.produced)
        super().__init__(f"streaming ranker {arm!r} {problem}")


class PoolSaturated(InterleaveError, RuntimeError):
    """Every worker thread is still busy with late work, so this request is not interleaved."""


class SimulationError(InterleaveError, ValueError):
    """A simulation was asked for something it cannot model (a grade out of range, a bad rate)."""


class UnknownClickModelError(UnknownNameError, SimulationError):
    """A click model name that is not in the registry; lists the valid names."""

    kind = "click model"


class AnalysisError(InterleaveError):
    """The log analysis could not run to a result (a failed query, an internal inconsistency)."""


class AnalysisInputError(AnalysisError, ValueError):
    """An analysis input or parameter is unusable: a missing file, a missing column, a bad value.

    The CLI maps it to exit code 2 (bad arguments), every other :class:`AnalysisError` to 1.
    """


class UnknownCreditRuleError(UnknownNameError, AnalysisInputError):
    """A credit rule name that is not in the registry; lists the valid names."""

    kind = "credit rule"


class AthenaQueryError(AnalysisError):
    """An Athena query that failed, was cancelled or ran out of time; names the query and why."""

    def __init__(self, query_id: str, state: str, reason: str, statement: str) -> None:
        self.query_id = query_id
        self.state = state
        self.reason = reason
        self.statement = statement
        head = " ".join(statement.split())[:80]
        super().__init__(f"Athena query {query_id} {state}: {reason} (query: {head}...)")


class OutcomesError(InterleaveError, ValueError):
    """A per-impression outcomes table (or a statistics argument) that cannot be analysed."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"cannot compute statistics: {problem}")


class ReportError(InterleaveError, OSError):
    """The analysis report (Markdown and plots) could not be written to its directory."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"cannot write the report to {path}: {problem}")


class MissingDependency(InterleaveError, ImportError):
    """An optional package needed for a feature is not installed; says which extra provides it."""

    def __init__(self, package: str, feature: str, extra: str) -> None:
        self.package = package
        self.feature = feature
        self.extra = extra
        super().__init__(f"{feature} needs the optional package {package!r}: pip install '{extra}'")
