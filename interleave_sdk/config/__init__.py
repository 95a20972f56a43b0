"""Experiment settings and the providers that supply them."""

from .openfeature import OpenFeatureConfig
from .providers import (
    ENV_PREFIX,
    ConfigProvider,
    ConfigSnapshot,
    EnvConfig,
    StaticConfig,
    checked_snapshot,
    env_values,
)
from .settings import ARM_NAME, DEFAULTS, INTERLEAVE, PARSERS, SEED_STRATEGIES, Settings, is_arm_name
from .ssm import SSMConfig

__all__ = [
    "ARM_NAME",
    "DEFAULTS",
    "ENV_PREFIX",
    "INTERLEAVE",
    "PARSERS",
    "SEED_STRATEGIES",
    "ConfigProvider",
    "ConfigSnapshot",
    "EnvConfig",
    "OpenFeatureConfig",
    "SSMConfig",
    "Settings",
    "StaticConfig",
    "checked_snapshot",
    "env_values",
    "is_arm_name",
]
