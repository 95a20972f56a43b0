"""The front door: exactly these names are public, sorted, and importable."""

from __future__ import annotations

import importlib
import subprocess
import sys

import interleave_sdk

PUBLIC = [
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


def test_public_names_are_pinned() -> None:
    """__all__ is exactly the reviewed list, kept sorted."""
    assert interleave_sdk.__all__ == PUBLIC
    assert sorted(interleave_sdk.__all__) == interleave_sdk.__all__


def test_every_public_name_resolves() -> None:
    """Each exported name exists on the package."""
    for name in interleave_sdk.__all__:
        assert getattr(interleave_sdk, name) is not None


def test_errors_share_one_root() -> None:
    """Every SDK error derives from InterleaveError."""
    errors = importlib.import_module("interleave_sdk.errors")
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(c, interleave_sdk.InterleaveError) for c in classes)


def test_importing_does_no_heavy_work() -> None:
    """Import starts no threads and loads neither boto3 nor the analysis stack."""
    code = (
        "import sys, threading, interleave_sdk;"
        "print(threading.active_count(), 'boto3' in sys.modules, 'duckdb' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["1", "False", "False"]


def test_package_is_typed() -> None:
    """py.typed ships with the package, so users' mypy checks their calls."""
    from importlib.resources import files

    assert files("interleave_sdk").joinpath("py.typed").is_file()
