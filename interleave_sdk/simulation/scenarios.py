"""Loading a simulation scenario (the host system: users, handler, hidden grades) by name.

A scenario is ``module:factory``; the default, the sample video app, ships inside the package. The
CLI and the sensitivity study both load scenarios here, so neither imports the other.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = "interleave_sdk.simulation.video_recsys.handler:scenario"


def load_scenario(spec: str, app_dir: Path, **kwargs: Any) -> Any:
    """Import ``module`` (with ``app_dir`` first on the import path) and call its factory."""
    module_name, _, attr = spec.partition(":")
    path = str(app_dir.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    module = importlib.import_module(module_name)
    return getattr(module, attr or "scenario")(**kwargs)
