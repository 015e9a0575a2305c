"""The report for analysts and managers: `report.html`, `findings.xlsx` and, when asked, the
Great Expectations technical appendix (`technical/`).

The page answers a manager's questions first (which authority, which period, when it was run,
and may it be submitted: red, amber or green), then an analyst's (counts by event type against
last quarter, findings by rule with the line, Event Reference and LA Person ID to look up,
codes the mapping did not know, the reconciliation). It is rendered from the Jinja2 template
`cldetl/report/templates/report.html.j2` in a sandboxed, autoescaping environment, so every value
from the file is escaped by construction; it has no script, loads nothing (charts are inline SVG and
the style is in the page), and its Content-Security-Policy forbids loading anything, so it reads
the same offline, from a USB stick or an email attachment.

The Great Expectations appendix is opt-in (`technical_appendix=True`): importing GE alone takes
seconds, while the page and workbook for a 30-row file take a fraction of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas import NA

from cldetl.report.charts import BarChart, bar_chart
from cldetl.report.files import open_private, private_dir, write_private
from cldetl.report.findings import FINDING_FIELDS, clean_text, finding_rows
from cldetl.report.ge_appendix import write_ge_report
from cldetl.report.html import render_template
from cldetl.report.national_section import national_section
from cldetl.report.workbook import write_workbook
from cldetl.spec import load_spec

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.spec import Spec
    from cldetl.validate.csvfile import CldTable
    from cldetl.validate.findings import ValidationReport

REPORT_PAGE = "report.html"
WORKBOOK = "findings.xlsx"
TECHNICAL_DIR = "technical"
TEMPLATE = "report.html.j2"
# The page lists this many findings per rule (all of them are in the workbook) and this many
# rows of a table (unmapped codes, reconciliation); the rest are counted.
FINDINGS_PER_RULE = 50
TABLE_ROWS = 200
CELL_CHARS = 120
# Rules listed open on the page (the rest are one click away).
OPEN_RULES = 5


@dataclass(frozen=True)
class Status:
    """Red: the portal would reject the file. Amber: it would be accepted, but something needs a
    look before submitting. Green: nothing found."""

    colour: str
    label: str
    reasons: tuple[str, ...]


@dataclass
class ShownTable:
    """A table as the page shows it: text cells, which columns are numbers, rows left out."""

    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    more: int = 0


@dataclass
class RuleFindings:
    rule: str
    severity: str
    count: int
    title: str
    section: str
    table: ShownTable
    open: bool


def _count(frame: Any) -> int:
    return 0 if frame is None else len(frame)


def _flagged(comparison: Any) -> int:
    if comparison is None:
        return 0
    total = 0
    for name in ("by_event_type", "by_event_type_month", "by_service_type"):
        frame = getattr(comparison, name, None)
        if frame is not None and "flagged" in frame.columns:
            total += int(frame["flagged"].fillna(False).astype(bool).sum())
    return total


def rag_status(report: ValidationReport, unmapped: Any = None, comparison: Any = None) -> Status:
    """The report's red/amber/green status and the reasons for it, in plain words."""
    if report.errors:
        return Status(
            "red",
            "Red: not ready to submit",
            (
                f"{report.errors:,} error(s): the national portal would reject this file. "
                "Fix them in the case system or the mapping and run again.",
            ),
        )
    reasons = []
    if report.warnings:
        reasons.append(f"{report.warnings:,} warning(s) to review before submitting.")
    codes = _count(unmapped)
    if codes:
        reasons.append(f"{codes:,} source code(s) the mapping does not know (see Unmapped codes).")
    swings = _flagged(comparison)
    if swings:
        reasons.append(f"{swings:,} count(s) changed more than expected since last quarter.")
    if reasons:
        return Status("amber", "Amber: review before submitting", tuple(reasons))
    return Status("green", "Green: ready to submit", ("No errors or warnings were found.",))


def format_date(value: Any) -> str:
    """A date as people write it (1 October 2024); a time of day too for a datetime."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        stamp = f"{value.day} {value:%B %Y, %H:%M}"
        return stamp + (f" {value.tzname()}" if value.tzinfo else "")
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def period_text(start: Any, end: Any) -> str:
    first, last = format_date(start), format_date(end)
    if first and last:
        return f"{first} to {last}"
    return last or first or "period not known"


def _period_label(period: Any) -> str:
    if hasattr(period, "start") and hasattr(period, "end"):
        return period_text(period.start, period.end)
    return format_date(period)


def cells(values: list[Any]) -> list[str]:
    """Values as the page shows them: missing as blank, numbers with thousands separators,
    flags as 'check' or blank."""

    out = []
    for v in values:
        if v is None or v is NA or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, bool):
            out.append("check" if v else "")
        elif isinstance(v, float):
            out.append(f"{v:,.1f}")
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append(f"{v:,}")
        else:
            out.append(str(v))
    return out


def shown_table(frame: pd.DataFrame | None, limit: int = TABLE_ROWS) -> ShownTable | None:
    """Any small table (unmapped codes, reconciliation, comparison parts) for the page."""

    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    head = frame.head(limit)
    numeric = {
        i for i, c in enumerate(head.columns) if pd.api.types.is_numeric_dtype(head[c].dtype)
    }
    texts = {
        c: clean_text(pd.Series(cells(head[c].tolist()), dtype=object), CELL_CHARS)
        for c in head.columns
    }
    rows = [list(r) for r in zip(*(texts[c].tolist() for c in head.columns), strict=True)]
    headers = [str(c).replace("_", " ").capitalize() for c in head.columns]
    return ShownTable(headers, rows, numeric, max(len(frame) - limit, 0))


@dataclass
class EventCounts:
    table: ShownTable
    charts: list[BarChart]
    compared: bool
    previous_label: str = ""
    current_label: str = ""


def event_counts(table: CldTable, comparison: Any, current_label: str) -> EventCounts:
    """Counts by event type: against last quarter when a comparison is given, else this file's."""

    if comparison is None or getattr(comparison, "by_event_type", None) is None:
        if "Event Type" in table.frame.columns:
            counts = table.frame["Event Type"].value_counts(sort=True)
        else:
            counts = pd.Series(dtype="int64")
        frame = pd.DataFrame(
            {"event_type": counts.index.astype(str), "current": counts.to_numpy(dtype="int64")}
        )
        chart = bar_chart(
            "Events by event type",
            frame["event_type"].tolist(),
            {current_label: frame["current"].tolist()},
        )
        shown = shown_table(frame.rename(columns={"current": "events"}), limit=10_000)
        return EventCounts(shown, [chart], False, "", current_label)

    previous_label = _period_label(getattr(comparison, "previous_period", "")) or "Previous"
    current_label = _period_label(getattr(comparison, "current_period", "")) or current_label
    by_type = comparison.by_event_type
    charts = [
        bar_chart(
            "Events by event type",
            by_type["event_type"].astype(str).tolist(),
            {
                previous_label: _numbers(by_type["previous"]),
                current_label: _numbers(by_type["current"]),
            },
        )
    ]
    by_month = getattr(comparison, "by_event_type_month", None)
    if by_month is not None and len(by_month):
        months = by_month.groupby("month", sort=True)[["previous", "current"]].sum()
        charts.append(
            bar_chart(
                "Events by month (the months both files cover)",
                [format_month(m) for m in months.index],
                {
                    previous_label: _numbers(months["previous"]),
                    current_label: _numbers(months["current"]),
                },
            )
        )
    columns = ["event_type", "previous", "current", "change_percent", "flagged"]
    frame = by_type[[c for c in columns if c in by_type.columns]]
    shown = shown_table(frame, limit=10_000)
    return EventCounts(shown, charts, True, previous_label, current_label)


def format_month(value: Any) -> str:
    if isinstance(value, date):
        return f"{value:%B %Y}"
    text = str(value)
    try:
        return f"{datetime.strptime(text[:7], '%Y-%m'):%B %Y}"
    except ValueError:
        return text


def _numbers(values: pd.Series) -> list[float | None]:
    return [None if v != v else float(v) for v in values.astype("float64").tolist()]


def rule_findings(rows: pd.DataFrame, report: ValidationReport, spec: Spec) -> list[RuleFindings]:
    """Findings grouped by rule (errors first, then by count), a sample of each listed."""
    out = []
    by_rule = report.by_rule()
    if by_rule.empty:
        return out
    heads = rows.groupby("rule", sort=False).head(FINDINGS_PER_RULE)
    samples = dict(tuple(heads.groupby("rule", sort=False)))
    shown_fields = [c for c in FINDING_FIELDS if c not in ("rule", "severity")]
    for i, (rule, severity, count) in enumerate(by_rule.itertuples(index=False, name=None)):
        meta = spec.rules.get(rule)
        sample = samples.get(rule)
        listed = [] if sample is None else sample[shown_fields].astype(object)
        table_rows = (
            []
            if sample is None
            else [cells(list(r)) for r in listed.itertuples(index=False, name=None)]
        )
        out.append(
            RuleFindings(
                rule=str(rule),
                severity=str(severity),
                count=int(count),
                title=meta.title if meta else "",
                section=meta.section if meta else "",
                table=ShownTable(
                    [FINDING_FIELDS[c] for c in shown_fields],
                    table_rows,
                    {0},
                    max(int(count) - len(table_rows), 0),
                ),
                open=i < OPEN_RULES,
            )
        )
    return out


def _stamp(run_date: Any) -> datetime | None:
    """The run date as a naive UTC datetime for the workbook's properties, if it is one."""

    if isinstance(run_date, str):
        try:
            run_date = datetime.fromisoformat(run_date)
        except ValueError:
            return None
    if isinstance(run_date, datetime):
        if run_date.tzinfo is not None:
            run_date = run_date.astimezone(UTC).replace(tzinfo=None)
        return run_date
    if isinstance(run_date, date):
        return datetime(run_date.year, run_date.month, run_date.day)
    return None


def file_facts(table: CldTable) -> dict[str, Any]:
    """LA code and reporting period as the file states them (its most common values), for a
    report on a file that did not come from a run (`cldetl validate FILE --report DIR`)."""
    facts: dict[str, Any] = {}
    for key, column in (
        ("la_code", "LA Code"),
        ("period_start", "Reporting Period Start Date"),
        ("period_end", "Reporting Period End Date"),
    ):
        value = ""
        if column in table.frame.columns:
            filled = table.frame[column][table.frame[column].str.strip() != ""]
            if len(filled):
                value = str(filled.mode().iloc[0])
        if key != "la_code" and value:
            try:
                value = datetime.strptime(value, "%d/%m/%Y").date()
            except ValueError:
                pass
        facts[key] = value
    facts["authority"] = (
        f"LA code {facts['la_code']}" if facts["la_code"] else "Authority not stated"
    )
    return facts


def write_report(
    out_dir: str | Path,
    *,
    table: CldTable,
    report: ValidationReport,
    authority: str,
    la_code: str,
    period_start: Any,
    period_end: Any,
    run_date: Any,
    unmapped: pd.DataFrame | None = None,
    reconciliation: pd.DataFrame | None = None,
    comparison: Any = None,
    technical_appendix: bool = False,
) -> list[Path]:
    """Write `report.html` and `findings.xlsx` (and `technical/` when asked) into `out_dir`.

    Args:
        table, report: the file as read and its validation report.
        authority, la_code: the authority's name and LA code, shown first.
        period_start, period_end: the reporting period (dates or ISO date strings).
        run_date: when the return was produced (date or datetime).
        unmapped: the transform's unmapped codes, if it ran.
        reconciliation: the transform's reconciliation of source rows, if it ran.
        comparison: the comparison with last quarter (`cldetl.report.compare`), if there was one.
        technical_appendix: also run Great Expectations and write its Data Docs (slow).

    Returns:
        The files written, the page first.
    """

    spec = load_spec()
    out = Path(out_dir)
    private_dir(out)
    written: list[Path] = []
    technical_link = None
    if technical_appendix:
        index = write_ge_report(table, report, out / TECHNICAL_DIR, back_link="../" + REPORT_PAGE)
        technical_link = index.relative_to(out.resolve()).as_posix()
        written.append(index)

    status = rag_status(report, unmapped, comparison)
    period = period_text(period_start, period_end)
    rows = finding_rows(table, report, spec)
    counts = event_counts(table, comparison, period)
    changes = None if comparison is None else getattr(comparison, "field_changes", None)
    services = None if comparison is None else getattr(comparison, "by_service_type", None)
    national = national_section(table, report)  # issue 17: "What DHSC will see"
    page = render_template(
        TEMPLATE,
        authority=authority,
        la_code=la_code,
        period=period,
        run_date=format_date(run_date),
        status=status,
        file_name=Path(table.path).name,
        rows=report.rows,
        errors=report.errors,
        warnings=report.warnings,
        release=spec.release,
        event_counts=counts,
        service_types=shown_table(services),
        field_changes=shown_table(changes),
        rules=rule_findings(rows, report, spec),
        unmapped=shown_table(unmapped),
        reconciliation=shown_table(reconciliation),
        technical_link=technical_link,
        workbook=WORKBOOK,
        national=national.page,  # issue 17
    )
    page_path = out / REPORT_PAGE
    write_private(page_path, page)

    summary: list[tuple[str, Any]] = [
        ("Authority", authority),
        ("LA code", la_code),
        ("Reporting period", period),
        ("Run date", format_date(run_date)),
        ("Status", status.label),
        *[("Why", reason) for reason in status.reasons],
        ("File", Path(table.path).name),
        ("Rows", report.rows),
        ("Errors", report.errors),
        ("Warnings", report.warnings),
    ]
    blocks = []
    by_rule = report.by_rule()
    if not by_rule.empty:
        blocks.append(
            (
                "Findings by rule",
                ["Rule", "Severity", "Findings", "Title"],
                [
                    [r, s, int(n), spec.rules[r].title if r in spec.rules else ""]
                    for r, s, n in by_rule.itertuples(index=False, name=None)
                ],
            )
        )
    blocks.append(("Events by event type", counts.table.headers, counts.table.rows))
    blocks += national.summary_tables  # issue 17
    book_path = out / WORKBOOK
    with open_private(book_path) as handle:
        write_workbook(
            handle,
            summary=summary,
            tables=blocks,
            findings=rows,
            stamp=_stamp(run_date),
            sheets=national.sheets,  # issue 17: a sheet per measure
        )
    return [page_path, book_path, *written]


def write_run_report(
    out_dir: str | Path,
    *,
    mapping: Any,
    period: Any,
    result: Any,
    table: CldTable,
    report: ValidationReport,
    run_date: Any,
    comparison: Any = None,
    technical_appendix: bool = False,
) -> list[Path]:
    """`write_report` for a run of the pipeline: authority and LA code from the mapping's
    metadata, the period's start and end, and the transform's unmapped codes and
    reconciliation (`TransformResult.unmapped`, `.reconciliation`)."""
    return write_report(
        out_dir,
        table=table,
        report=report,
        authority=mapping.metadata.la_name,
        la_code=mapping.metadata.la_code,
        period_start=period.start,
        period_end=period.end,
        run_date=run_date,
        unmapped=result.unmapped,
        reconciliation=result.reconciliation,
        comparison=comparison,
        technical_appendix=technical_appendix,
    )
