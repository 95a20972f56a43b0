"""Which optional extra provides which importable package, and the fix to print when one is missing.

The core install (wrapt, pandas, numpy, boto3, orjson) serves requests; the analysis, the simulator
and a few conveniences need extras. A test keeps this table in step with setup.cfg.
"""

from __future__ import annotations

from .errors import MissingDependency

#: Top-level module -> the extra that installs it.
EXTRA_OF_MODULE: dict[str, str] = {
    "duckdb": "analysis",
    "scipy": "analysis",
    "matplotlib": "analysis",
    "tqdm": "analysis",
    "psycopg": "analysis",
    "pyarrow": "analysis",
    "threadpoolctl": "blas",
    "aws_lambda_powertools": "powertools",
    "openfeature": "openfeature",
}


def install_hint(exc: ImportError) -> str | None:
    """``pip install 'interleave-sdk[extra]'`` for an import error of an optional package, else None.

    A :class:`MissingDependency` names its own fix; a plain ``ImportError`` is matched by the
    top-level name of the module that failed, so a broken core install is not misreported.
    """
    if isinstance(exc, MissingDependency):
        return f"pip install '{exc.extra}'"
    module = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    return None if extra is None else f"pip install 'interleave-sdk[{extra}]'"
