"""The analysis queries: one ``.sql`` file per step, the single source of truth for every engine.

The files are written in the common subset of DuckDB and Trino (Athena engine v3). Table names and
a few literals are ``{placeholders}``, filled by :func:`render`; nothing else is templated.
"""

from __future__ import annotations

import re
from importlib import resources

from ...errors import AnalysisError

#: The pipeline's steps, in the order they run; each names a file ``<step>.sql`` here.
STEPS: tuple[str, ...] = (
    "rankings",
    "exposure_items",
    "impressions",
    "attribution",
    "credit",
    "clicks_by_position",
)

# ``${...}`` is Athena's own template syntax (partition projection), never one of ours.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([a-z_]+)\}")


def load(name: str) -> str:
    """The text of ``<name>.sql`` as shipped in the package."""
    return resources.files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def placeholders(name: str) -> tuple[str, ...]:
    """The placeholder names ``<name>.sql`` expects, in order of first use."""
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(load(name))))


def render(name: str, **values: object) -> str:
    """``<name>.sql`` with every ``{placeholder}`` replaced; a missing or unused value is an error.

    Both directions are checked so that a renamed placeholder cannot silently leave a query
    pointing at the wrong table.
    """
    text = load(name)
    wanted = set(placeholders(name))
    missing = wanted - values.keys()
    extra = values.keys() - wanted
    if missing or extra:
        raise AnalysisError(
            f"{name}.sql: missing values for {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def statements(text: str) -> list[str]:
    """A script split into its statements, each without its leading comment lines or ``;``.

    Athena runs one statement per query and Hive DDL rejects some comment placements, so each
    statement is handed over bare. Our files put every ``;`` at the end of a line.
    """
    out = []
    for chunk in re.split(r";[ \t]*(?:\n|$)", text):
        lines = chunk.strip().splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
            lines.pop(0)
        if lines:
            out.append("\n".join(lines))
    return out


def athena_ddl(*, database: str, table: str, location: str, first_day: str) -> list[str]:
    """``athena_ddl.sql`` filled in, as four statements to run one at a time, in order.

    The log table (with ``experiment`` and the ``dt`` day partition), its reader view, and two
    views of the steps. The views embed ``rankings.sql`` and ``exposure_items.sql`` themselves
    (keeping every record), so Athena and DuckDB run the same text.
    """
    full = f"{database}.{table}"
    return statements(
        render(
            "athena_ddl",
            database=database,
            table=table,
            location=location,
            first_day=first_day,
            rankings_sql=render(
                "rankings", ranking_log=f"{full}_log", keep="TRUE", schema_majors=_schema_majors()
            ).strip(),
            exposure_items_sql=render("exposure_items", rankings=f"{full}_rankings").strip(),
        )
    )


def _schema_majors() -> str:
    from ..versions import sql_majors  # the analysis package; imported late to avoid a cycle

    return sql_majors()
