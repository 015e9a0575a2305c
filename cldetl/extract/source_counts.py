"""How many rows each database source's base table holds, and how many of them the database
left out and why: the start of the reconciliation, so that

    table rows = left out in the database + read        (read = output + details + excluded)

Each template declares its base table and the conditions it leaves rows out by (`base:` and
`left_out:` in its declaration); one cheap query per source classifies every base row by the
first condition it meets and counts them:

    SELECT counted.why, COUNT(*) AS n
    FROM (SELECT CASE WHEN (<condition 1>) THEN 1 WHEN ... ELSE 0 END AS why
          FROM <base table> <alias>) counted
    GROUP BY counted.why

The template's own WHERE is `{{ in_scope }}`, the same CASE = 0, so the two cannot drift.

The count runs in the same read-only transaction as the source's read, so both see one
snapshot of the database (`cldetl.extract.database.connect`): a case system written to during
the run cannot make them disagree.

    extracted = extract_counted(mapping, period)          # cldetl.extract
    extracted.counts["steps"].table_rows, extracted.counts["steps"].left_out
    # 1200, {"completed before the reporting period (filtered in the database)": 800, ...}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from cldetl.extract.database_errors import query_error
from cldetl.extract.render import render_source, statement
from cldetl.mapping.template_declarations import declaration_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect

    from cldetl.extract.render import RenderedSource
    from cldetl.mapping import Mapping
    from cldetl.spec.period import ReportingPeriod

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceCounts:
    """One source's base table: its rows, and those left out in the database by reason."""

    table_rows: int
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def read(self) -> int:
        """The rows the source's query returns (what the transform must account for)."""
        return self.table_rows - sum(self.left_out.values())


def count_query(
    mapping: Mapping,
    name: str,
    dialect: str | Dialect,
    period: ReportingPeriod,
    connectors_dir: str | Path | None = None,
) -> RenderedSource | None:
    """Source `name`'s count query (render_source(..., counts=True)), or None when its
    template declares no base table: an authority's own template without a declaration still
    runs, and its table count stays blank in the reconciliation (never guessed), with a
    warning saying what to declare."""
    declared = declaration_for(mapping, name, connectors_dir)
    if declared is None or not declared.base_table:
        log.warning(
            "source %s: template %s declares no base table, so its table rows are not "
            "counted (add base: {table: ..., alias: ...} to its declaration)",
            name,
            mapping.sources[name].template,
        )
        return None
    return render_source(mapping, name, dialect, period, connectors_dir, counts=True)


def run_count(conn: Connection, query: RenderedSource, url: str) -> SourceCounts:
    """Run one rendered count query (render_source(..., counts=True))."""

    try:
        rows = conn.execute(statement(query)).all()
    except DBAPIError as exc:
        raise query_error(exc, query.name, query.template, url) from None
    by_why = {int(why): int(n) for why, n in rows}
    left_out = {reason: by_why.get(i, 0) for i, reason in enumerate(query.reasons, 1)}
    return SourceCounts(table_rows=sum(by_why.values()), left_out=left_out)
