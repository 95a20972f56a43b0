"""interleave-sdk: compare rankers by interleaving them inside one request.

The public surface is what this module exports (pinned by a test); everything else may change.
"""

from ._version import __version__
from .bucketing import bucket, derive_seed
from .clock import Clock, SystemClock
from .config import (
    ConfigProvider,
    ConfigSnapshot,
    EnvConfig,
    Settings,
    SSMConfig,
    StaticConfig,
)
from .context import last_ranking_id, pinned, source_rankers
from .decorator import interleaved
from .errors import (
    ArmTimeout,
    ConfigError,
    ConfigUnavailable,
    InterleaveError,
    InvalidConfigValue,
    PoolSaturated,
    RankerOutputError,
    UnknownMethodError,
)
from .execution import ArmExecutor, ArmOutcome
from .interleaving import Interleaving, available_methods, interleave, register
from .observability import JsonLineSink, log_schema
from .observability.metrics import EmfMetrics
from .prefetch import prefetch
from .replay import replay

__all__ = [
    "ArmExecutor",
    "ArmOutcome",
    "ArmTimeout",
    "Clock",
    "ConfigError",
    "ConfigProvider",
    "ConfigSnapshot",
    "ConfigUnavailable",
    "EmfMetrics",
    "EnvConfig",
    "InterleaveError",
    "Interleaving",
    "InvalidConfigValue",
    "JsonLineSink",
    "PoolSaturated",
    "RankerOutputError",
    "SSMConfig",
    "Settings",
    "StaticConfig",
    "SystemClock",
    "UnknownMethodError",
    "__version__",
    "available_methods",
    "bucket",
    "derive_seed",
    "interleave",
    "interleaved",
    "last_ranking_id",
    "log_schema",
    "pinned",
    "prefetch",
    "register",
    "replay",
    "source_rankers",
]
