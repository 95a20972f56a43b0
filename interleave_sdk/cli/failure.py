"""How a command fails: one line on stderr, ``interleave-sdk <command>: error: <what and the fix>``.

Commands raise :class:`CliFailure`; :func:`interleave_sdk.cli.main` prints it and returns its
exit code, so the prefix and the exit codes are decided here once. AWS set-up problems an
operator meets on a fresh machine (no region, no credentials) are turned into such failures with
the fix named, instead of botocore's traceback.
"""

from __future__ import annotations

#: Ran and failed (SSM unreachable, a query failed): the same command may work later.
FAILED = 1
#: Bad arguments or set-up (no region, a missing extra, an input that does not exist).
USAGE = 2
#: ``analyze --strict``: the analysis ran and its result was printed, but a health check failed.
STRICT_FAILED = 3


class CliFailure(Exception):
    """A failure the operator can act on: printed as one line, then the command exits ``code``."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def error_line(command: str | None, message: str) -> str:
    """The one prefix every command's failure carries."""
    return f"interleave-sdk {command or ''}: error: {message}".replace(" :", ":")


_AWS_SETUP_ERRORS = ("NoRegionError", "NoCredentialsError", "PartialCredentialsError")


def aws_setup_failure(exc: BaseException) -> CliFailure | None:
    """The fix for botocore's set-up errors (no region, no credentials), or None for others.

    The cause chain is searched too: the SDK wraps botocore's errors in its own.
    """
    seen: BaseException | None = exc
    while seen is not None and type(seen).__name__ not in _AWS_SETUP_ERRORS:
        seen = seen.__cause__
    if seen is None:
        return None
    if type(seen).__name__ == "NoRegionError":
        return CliFailure("no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION)")
    return CliFailure(
        "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        f"AWS_SECRET_ACCESS_KEY ({seen})"
    )
