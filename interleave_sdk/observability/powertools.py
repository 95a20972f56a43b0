"""Writing ranking lines through a Powertools for AWS Lambda ``Logger`` without breaking them.

Handing the record to ``logger.info(record)`` nests it under ``message`` next to Powertools' own
keys, and ``extra=`` drops null fields: either way the line no longer matches the log schema and
the analysis cannot read it. Here the record travels on the log record to a formatter that writes
it exactly as :class:`~interleave_sdk.observability.sinks.JsonLineSink` would, while every other
line of that logger keeps Powertools' format. Powertools is imported only when the formatter is
built, so the SDK does not depend on it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import MissingDependency
from .sinks import dumps

#: The attribute of the ``logging.LogRecord`` that carries the ranking record.
RECORD_ATTR = "interleave_ranking"

_FORMATTER_CLASS: type[logging.Formatter] | None = None


def _formatter_class() -> type[logging.Formatter]:
    global _FORMATTER_CLASS
    if _FORMATTER_CLASS is None:
        try:
            from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
        except ImportError as exc:
            raise MissingDependency(
                "aws-lambda-powertools", "ranking_line_formatter()", "interleave-sdk[powertools]"
            ) from exc

        class RankingLineFormatter(LambdaPowertoolsFormatter):
            """Powertools' formatter, except that a ranking record is written as its own line."""

            def format(self, record: logging.LogRecord) -> str:
                ranking = getattr(record, RECORD_ATTR, None)
                if isinstance(ranking, dict):
                    return dumps(ranking).decode("utf-8")
                return str(super().format(record))

        _FORMATTER_CLASS = RankingLineFormatter
    return _FORMATTER_CLASS


def ranking_line_formatter(**options: Any) -> logging.Formatter:
    """A Powertools formatter (``Logger(logger_formatter=...)``) that keeps ranking lines whole.

    ``options`` go to ``LambdaPowertoolsFormatter`` unchanged (``json_serializer``, ``utc``, ...).
    """
    return _formatter_class()(**options)


class PowertoolsSink:
    """A sink writing each ranking record through a Powertools ``Logger`` at ``level``.

    The logger must use :func:`ranking_line_formatter` (refused otherwise: the lines would break),
    and its level must let ``level`` through (refused otherwise: every ranking line would be
    dropped and the analysis would lose its input without a sign). Ranking lines are data, not
    diagnostics, so keep ``POWERTOOLS_LOG_LEVEL`` at INFO or lower, or pass a higher ``level``
    here. Refusing rather than writing past the level keeps the operator's level meaningful for
    every other line and makes the misconfiguration visible at the first deploy.
    """

    def __init__(self, logger: Any, level: int = logging.INFO) -> None:
        formatter = getattr(logger, "registered_formatter", None)
        if formatter is None or not isinstance(formatter, _formatter_class()):
            raise TypeError(
                "the Powertools Logger must be built with "
                "logger_formatter=ranking_line_formatter(), or ranking lines lose their shape; "
                f"got formatter {type(formatter).__name__}"
            )
        if not isinstance(level, int) or isinstance(level, bool) or level <= 0:
            raise ValueError(f"level must be a logging level such as logging.INFO, got {level!r}")
        if not logger.isEnabledFor(level):
            at = logging.getLevelName(logger.getEffectiveLevel())
            raise ValueError(
                f"the logger's level ({at}) drops ranking lines written at "
                f"{logging.getLevelName(level)}, and the analysis would lose its input: set "
                f"POWERTOOLS_LOG_LEVEL=INFO (or Logger(level='INFO')), or pass "
                f"PowertoolsSink(logger, level=logging.{at}) to write them at the logger's level"
            )
        self.logger = logger
        self.level = level

    def __call__(self, record: dict[str, Any]) -> None:
        self.logger.log(self.level, "interleave-sdk ranking", extra={RECORD_ATTR: record})
