"""The report for analysts and managers: `report.html`, `findings.xlsx` and, when asked, the
Great Expectations technical appendix (`technical/`).

The page answers a manager's questions first (which authority, which period, when it was run,
and may it be submitted: red, amber or green, each count in the status a link to the rows
behind it), then an analyst's (counts by event type against last quarter and the counts that
swung, findings by rule and field with the first lines, Event References and LA Person IDs to
look up, codes the mapping did not know, the reconciliation). The workbook holds all of it, one
sheet per section (`cldetl.report.book`). It is rendered from the Jinja2 template
`cldetl/report/templates/report.html.j2` in a sandboxed, autoescaping environment, so every value
from the file is escaped by construction; it has no script, loads nothing (charts are inline SVG and
the style is in the page), and its Content-Security-Policy forbids loading anything, so it reads
the same offline, from a USB stick or an email attachment.

The Great Expectations appendix is opt-in (`technical_appendix=True`): importing GE alone takes
seconds, while the page and workbook for a 30-row file take a fraction of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cldetl.report.book import report_sections
from cldetl.report.file_summary import FileSummary, from_file, from_table
from cldetl.report.files import open_private, private_dir, write_private
from cldetl.report.findings import finding_rows
from cldetl.report.ge_appendix import write_ge_report
from cldetl.report.html import render_template
from cldetl.report.national_section import national_section
from cldetl.report.page_sections import (
    changed_fields,
    compared,
    event_counts,
    rule_findings,
    shown_swings,
    swings,
)
from cldetl.report.tables import format_date, period_text, shown_table
from cldetl.report.workbook import Section, write_workbook
from cldetl.spec import load_spec
from cldetl.validate.csvfile import CldTable, read_cld_csv

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.national.run_files import NationalRun
    from cldetl.validate.findings import ValidationReport

REPORT_PAGE = "report.html"
WORKBOOK = "findings.xlsx"
TECHNICAL_DIR = "technical"
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class Status:
    """Red: the portal would reject the file. Amber: it would be accepted, but something needs a
    look before submitting. Green: nothing found.

    links: for each reason, the id of the section on the page that lists the rows behind its
    count ("" for none)."""

    colour: str
    label: str
    reasons: tuple[str, ...]
    links: tuple[str, ...] = ()


def _count(frame: Any) -> int:
    return 0 if frame is None else len(frame)


def rag_status(report: ValidationReport, unmapped: Any = None, comparison: Any = None) -> Status:
    """The report's red/amber/green status and the reasons for it, in plain words, each
    linked to the rows behind its count."""
    if report.errors:
        return Status(
            "red",
            "Red: not ready to submit",
            (
                f"{report.errors:,} error(s): the national portal would reject this file. "
                "Fix them in the case system or the mapping and run again.",
            ),
            ("findings",),
        )
    reasons, links = [], []
    if report.warnings:
        reasons.append(f"{report.warnings:,} warning(s) to review before submitting.")
        links.append("findings")
    codes = _count(unmapped)
    if codes:
        reasons.append(f"{codes:,} source code(s) the mapping does not know (see Unmapped codes).")
        links.append("unmapped")
    flagged = len(swings(comparison)) if compared(comparison) else 0
    if flagged:
        reasons.append(f"{flagged:,} count(s) changed more than expected since last quarter.")
        links.append("swings")
    if reasons:
        return Status("amber", "Amber: review before submitting", tuple(reasons), tuple(links))
    return Status("green", "Green: ready to submit", ("No errors or warnings were found.",), ("",))


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
    facts = from_table(table).facts
    return {k: facts[k] for k in ("la_code", "period_start", "period_end", "authority")}


def write_report(
    out_dir: str | Path,
    *,
    table: CldTable | str | Path,
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
    extra_sections: tuple[Section, ...] = (),
    file_summary: FileSummary | None = None,
    national: NationalRun | None = None,
) -> list[Path]:
    """Write `report.html` and `findings.xlsx` (and `technical/` when asked) into `out_dir`.

    Args:
        table: the file as read, or its path: then it is read again batch by batch for what
            the report needs (`cldetl.report.file_summary`), so memory does not grow with it.
        report: the file's validation report.
        authority, la_code: the authority's name and LA code, shown first.
        period_start, period_end: the reporting period (dates or ISO date strings).
        run_date: when the return was produced (date or datetime).
        unmapped: the transform's unmapped codes, if it ran.
        reconciliation: the transform's reconciliation of source rows, if it ran.
        comparison: the comparison with last quarter (`cldetl.report.compare`), if there was one.
        technical_appendix: also run Great Expectations and write its Data Docs (slow; it
            needs the whole table, so a path is read whole for it).
        extra_sections: more workbook sheets (e.g. the national preview), after the comparison.
        file_summary: what the report needs of the file, when already gathered.
        national: the national preview and measures of a run (computed once per run by the
            pipeline); None: computed here from the file.

    Returns:
        The files written, the page first.
    """

    spec = load_spec()
    out = Path(out_dir)
    private_dir(out)
    written: list[Path] = []
    technical_link = None
    lines = report.findings["line"].dropna().astype("int64").to_numpy()
    if technical_appendix and not isinstance(table, CldTable):
        table = read_cld_csv(table)
    if file_summary is not None:
        file = file_summary
    elif isinstance(table, CldTable):
        file = from_table(table, lines)
    else:
        file = from_file(table, lines)
    if technical_appendix:
        index = write_ge_report(table, report, out / TECHNICAL_DIR, back_link="../" + REPORT_PAGE)
        technical_link = index.relative_to(out.resolve()).as_posix()
        written.append(index)

    status = rag_status(report, unmapped, comparison)
    period = period_text(period_start, period_end)
    rows = finding_rows(file.identifiers, report, spec)
    counts = event_counts(file, comparison, period)
    is_compared = compared(comparison)
    changes = changed_fields(comparison) if is_compared else None
    services = getattr(comparison, "by_service_type", None) if is_compared else None
    section = national_section(table, report, national)  # issue 17: "What DHSC will see"
    page = render_template(
        TEMPLATE,
        authority=authority,
        la_code=la_code,
        period=period,
        run_date=format_date(run_date),
        status=status,
        file_name=Path(file.path).name,
        rows=report.rows,
        errors=report.errors,
        warnings=report.warnings,
        release=spec.release,
        event_counts=counts,
        swings=shown_table(shown_swings(comparison), limit=10_000) if is_compared else None,
        service_types=shown_table(services),
        field_changes=shown_table(changes),
        rules=rule_findings(rows, report, spec, WORKBOOK),
        unmapped=shown_table(unmapped),
        reconciliation=shown_table(reconciliation),
        technical_link=technical_link,
        workbook=WORKBOOK,
        national=section.page,
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
        *([("Comparison", counts.nothing_to_compare)] if counts.nothing_to_compare else []),
        ("File", Path(file.path).name),
        ("Rows", report.rows),
        ("Errors", report.errors),
        ("Warnings", report.warnings),
    ]
    sections = report_sections(
        summary=summary,
        report=report,
        spec=spec,
        rows=rows,
        file=file,
        unmapped=unmapped,
        reconciliation=reconciliation,
        comparison=comparison,
        extra=(*section.sections(), *extra_sections),
    )
    book_path = out / WORKBOOK
    with open_private(book_path) as handle:
        write_workbook(handle, sections, stamp=_stamp(run_date))
    return [page_path, book_path, *written]


def write_file_report(
    out_dir: str | Path,
    path: str | Path,
    report: ValidationReport,
    *,
    run_date: Any,
    technical_appendix: bool = False,
    national: NationalRun | None = None,
) -> list[Path]:
    """`write_report` for a CLD file alone (`cldetl validate FILE --report DIR`): the LA code
    and period as the file states them, the file read batch by batch (never whole, unless the
    technical appendix asks for it); `national`: the file's preview when the caller made it
    while validating (one read), else it is made here."""
    lines = report.findings["line"].dropna().astype("int64").to_numpy()
    file = from_file(path, lines)
    facts = file.facts
    return write_report(
        out_dir,
        table=path,
        report=report,
        run_date=run_date,
        technical_appendix=technical_appendix,
        file_summary=None if technical_appendix else file,
        national=national,
        **{k: facts[k] for k in ("la_code", "period_start", "period_end", "authority")},
    )


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
    national: NationalRun | None = None,
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
        national=national,
    )
