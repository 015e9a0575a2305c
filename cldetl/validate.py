"""`validate`: check a CLD file the way the national portal (DLP) and the Excel validation tool
do, and report every problem as a finding with its rule and guidance section.

The order of checks matters only for reading the report; each check sees the raw columns. A
column missing from the header is reported once and its checks skipped, so one wrong header
does not turn into a million row findings.
"""

from __future__ import annotations

from pathlib import Path

from cldetl.checks import (
    dates,
    file_level,
    headers,
    lists,
    outcome,
    portal,
    privacy,
    rows,
    types,
)
from cldetl.checks.context import CheckContext
from cldetl.csvfile import CldTable, read_cld_csv
from cldetl.findings import FindingSink, ValidationReport
from cldetl.spec import Spec, load_spec

CHECKS = (portal, headers, types, lists, rows, dates, outcome, privacy, file_level)


def validate(
    source: str | Path | CldTable, *, monthly: bool = False, spec: Spec | None = None
) -> ValidationReport:
    """Validate a CLD CSV (a path or an already read table).

    Args:
        source: the file, or a `CldTable` from `read_cld_csv`.
        monthly: the authority submits monthly, so a month end that is not a quarter end is fine.
        spec: the specification (Release 2 by default).

    Returns:
        The report: findings, counts, rows. Raises InputError only when the file cannot be read.
    """
    spec = spec or load_spec()
    table = source if isinstance(source, CldTable) else read_cld_csv(source)
    sink = FindingSink(spec, table.lines, column_order=spec.headers)
    ctx = CheckContext(spec=spec, table=table, sink=sink, monthly=monthly)
    # A file over the DLP's size limit is not read: only its size (and BOM) is reported.
    for check in (portal,) if table.too_large else CHECKS:
        check.check(ctx)
    return ValidationReport(
        file=table.path,
        rows=table.rows,
        findings=sink.frame(),
        counts={} if table.too_large else file_level.summary_counts(ctx),
        encoding=table.encoding,
        monthly=monthly,
        header=table.header,
    )
