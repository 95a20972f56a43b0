"""Experiment settings and the providers that supply them."""

from .providers import (
    ENV_PREFIX,
    ConfigProvider,
    ConfigSnapshot,
    EnvConfig,
    StaticConfig,
    env_values,
)
from .settings import DEFAULTS, MODES, PARSERS, SEED_STRATEGIES, Settings
from .ssm import SSMConfig

__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "MODES",
    "PARSERS",
    "SEED_STRATEGIES",
    "ConfigProvider",
    "ConfigSnapshot",
    "EnvConfig",
    "SSMConfig",
    "Settings",
    "StaticConfig",
    "env_values",
]
