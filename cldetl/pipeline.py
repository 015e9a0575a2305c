"""`run`: one authority's return, end to end: mapping -> extract -> transform -> validate ->
write. The CLI's `cldetl run` and the Prefect flows both call these stage functions; nothing
here knows about either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.engine import make_url

from cldetl import __version__
from cldetl.errors import CldetlError
from cldetl.extract import format_rendered, read_sources, render_all
from cldetl.extract.database_url import database_url
from cldetl.extract.left_out_records import left_out_records
from cldetl.mapping import load_mapping
from cldetl.national.population import mapping_population
from cldetl.national.run_files import against_last_quarter, national_run
from cldetl.onboarding import refuse_unchecked
from cldetl.onboarding.run_checks import run_findings
from cldetl.publish.history import (
    MANIFEST,
    OutputError,
    RunStaging,
    earlier_run,
    file_sha256,
    open_run,
    publish,
    read_manifest,
    write_manifest,
)
from cldetl.publish.portal_file import portal_file_name, write_portal_csv
from cldetl.publish.write import cld_file_name, write_csv, write_text
from cldetl.report import page as report_page  # looked up when called: tests replace it
from cldetl.report.compare import DEFAULT_THRESHOLD_PERCENT, compare_returns, write_comparison_files
from cldetl.report.console import report_json
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from cldetl.validate import validate
from cldetl.validate.csvfile import table_from_frame

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.national.run_files import LastQuarter, NationalRun
    from cldetl.report.compare import Comparison
    from cldetl.transform import TransformResult
    from cldetl.validate.findings import ValidationReport

log = logging.getLogger(__name__)

EXCLUSIONS = "exclusions.csv"
RECONCILIATION = "reconciliation.csv"
UNMAPPED = "unmapped_codes.csv"
LINEAGE = "lineage.csv"
LEFT_OUT_RECORDS = "left_out_records.csv"
LINKED_LEFT_OUT = "linked_people_left_out.csv"
VALIDATION = "validation.json"
REPORT_PAGE = "report.html"  # with findings.xlsx; technical/ holds the GE appendix


@dataclass
class RunResult:
    """What a run left behind, for the CLI's summary and the flows' artifacts.

    `files` maps each published file's name (and "cld") to its path inside the run folder;
    `run_dir` is the published run folder (`<out>/<period end>/run-NNNN-<UTC time>/`) and
    `manifest_path` its manifest.json; `compared_with` the earlier run the return was compared
    with and `comparison` the comparison (cldetl.report.compare.Comparison); both None when the
    history held no earlier period (or its file could not be compared: see the manifest).
    """

    mapping: Mapping
    period: ReportingPeriod
    result: TransformResult
    report: ValidationReport
    files: dict[str, Path] = field(default_factory=dict)
    run_dir: Path | None = None
    manifest_path: Path | None = None
    compared_with: Path | None = None
    comparison: Comparison | None = None
    trial: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.report.errors else 0


@dataclass
class PublishedRun:
    """A run folder once published: its files, folder, manifest and comparison baseline."""

    files: dict[str, Path]
    run_dir: Path
    manifest_path: Path
    compared_with: Path | None = None
    comparison: Comparison | None = None

    def run_result(
        self,
        mapping: Mapping,
        period: ReportingPeriod,
        result: TransformResult,
        report: ValidationReport,
    ) -> RunResult:
        """The run as the CLI and the flows report it."""
        return RunResult(
            mapping,
            period,
            result,
            report,
            self.files,
            run_dir=self.run_dir,
            manifest_path=self.manifest_path,
            compared_with=self.compared_with,
            comparison=self.comparison,
        )


def with_output(mapping: Mapping, output: dict | None) -> Mapping:
    """`mapping` with its `output` section's options (encoding, gzip) overridden for one run by
    those given (None or absent: the mapping's own), as `cldetl run` and the flow both take."""
    given = {key: value for key, value in (output or {}).items() if value is not None}
    if not given:
        return mapping
    return mapping.model_copy(update={"output": mapping.output.model_copy(update=given)})


def reporting_period(mapping: Mapping, period_end: date | None, today: date | None = None):
    """The period to produce for this mapping's cadence: the given end, or the last completed
    quarter (or month)."""
    return ReportingPeriod.chosen(period_end, mapping.metadata.cadence, today)


def validate_output(mapping: Mapping, period: ReportingPeriod, cld: pd.DataFrame):
    """Validate the transform's output in memory, as `cldetl validate` would the file."""

    name = cld_file_name(mapping.metadata.la_code, period.end)
    table = table_from_frame(cld, name)
    return table, validate(table, monthly=mapping.metadata.cadence == "monthly")


def write_run(
    staging: RunStaging,
    mapping: Mapping,
    period: ReportingPeriod,
    result: TransformResult,
    report: ValidationReport,
    table=None,
    html_report: bool = False,
    *,
    started: datetime,
    technical_appendix: bool = False,
    trial: bool = False,
    left_out: pd.DataFrame | None = None,
) -> PublishedRun:
    """Write every file of the run into `staging`, compare with the latest run of an earlier
    period, write the manifest, and publish the run folder with one rename.

    Raises OutputError (exit 2) when the files cannot be written; nothing is published then,
    and the period's latest run is still the previous one.
    """

    output = mapping.output
    name = portal_file_name(cld_file_name(mapping.metadata.la_code, period.end), output.gzip)
    out = staging.out_dir
    try:
        # The return as the DLP accepts it (its one call site); characters the chosen
        # encoding cannot carry become findings of the run's validation report.
        written = write_portal_csv(
            result.cld,
            staging.path(name),
            encoding=output.encoding,
            transliteration=output.transliteration,
            use_gzip=output.gzip,
        )
        report.add_findings(written.findings())
        write_csv(result.exclusions, staging.path(EXCLUSIONS))
        write_csv(result.reconciliation, staging.path(RECONCILIATION))
        write_csv(result.unmapped, staging.path(UNMAPPED))
        write_csv(result.lineage, staging.path(LINEAGE))
        if left_out is not None:  # `run --list-left-out`: each row left out, by source key
            write_csv(left_out, staging.path(LEFT_OUT_RECORDS))
        if result.linked_people_left_out is not None and len(result.linked_people_left_out):
            # Linked Person IDs beyond the guidance's three (or not known to the authority):
            # reported, never dropped unseen.
            write_csv(result.linked_people_left_out, staging.path(LINKED_LEFT_OUT))
        write_text(report_json(report) + "\n", staging.path(VALIDATION))
        previous = earlier_run(out, period.end)
        # --- What DHSC will make of the return (issue 17): preview, row fates, measures
        # (rates with the mapping's population), against last quarter's run. Computed once:
        # the run folder's files and the report show the same object. ---
        national = None
        if table is not None:
            national = national_run(table, report, mapping_population(mapping))
            national.last_quarter = _measures_against(national, previous, mapping, out)
            for national_name, text in national.files().items():
                write_text(text, staging.path(national_name))
        # --- end of the national preview ---
        comparison, compared = _compare_with(previous, staging.path(name), mapping, staging)
        if html_report and table is not None:
            # The page for analysts and managers (and findings.xlsx); Great Expectations'
            # Data Docs only when asked, as a technical appendix.
            report_page.write_run_report(
                staging.run_dir,
                mapping=mapping,
                period=period,
                result=result,
                table=table,
                report=report,
                run_date=started.date(),
                comparison=comparison,
                technical_appendix=technical_appendix,
                national=national,
            )
        about = _manifest_about(mapping, period, result, report, name, started, compared)
        about["trial"] = trial  # a trial run of an unchecked mapping: not for submission
        write_manifest(staging, about)
        run_dir = publish(staging, period.end, started)
    except OSError as exc:
        raise OutputError(
            f"could not write the run's files into {out} ({exc.strerror or exc}). Nothing was "
            "published: the period's latest run is unchanged. Free space or fix permissions "
            "and run again."
        ) from None
    files = {p.name: run_dir / p.name for p in sorted(run_dir.iterdir())}
    files["cld"] = run_dir / name
    log.info("published %d files in %s", len(files) - 1, run_dir)
    return PublishedRun(
        files,
        run_dir,
        run_dir / MANIFEST,
        compared_with=previous if comparison is not None else None,
        comparison=comparison,
    )


def _compare_with(
    previous: Path | None, current: Path, mapping: Mapping, staging: RunStaging
) -> tuple[Comparison | None, dict | None]:
    """Compare the return with last quarter's (the latest run of the latest earlier period)
    and write the comparison files into the run. Returns the comparison and what the manifest
    says of it; (None, None) when the history holds no earlier period.

    The comparison is an aid, not the return: if last quarter's file cannot be compared, the
    run goes on, and the reason is logged and kept in the manifest."""
    if previous is None:
        return None, None

    where = _relative(previous, staging.out_dir)
    try:
        cld = read_manifest(previous)["cld_file"]
        comparison = compare_returns(
            previous / cld, current, threshold_percent=swing_threshold(mapping)
        )
    except Exception as exc:  # noqa: BLE001 - recorded in the manifest, the run goes on
        reason = str(exc) if isinstance(exc, CldetlError) else f"{type(exc).__name__}: {exc}"
        log.warning("no comparison with %s: %s", previous, reason)
        return None, {"previous_run": where, "error": reason}
    written = write_comparison_files(comparison, staging.run_dir)
    return comparison, {
        "previous_run": where,
        "previous_period_end": f"{comparison.previous_period.end:%Y-%m-%d}",
        "flagged": int(comparison.by_event_type["flagged"].sum()),
        "files": sorted(p.name for p in written),
    }


def _measures_against(
    national: NationalRun, previous: Path | None, mapping: Mapping, out: Path
) -> LastQuarter:
    """The measures against last quarter's run of the same authority (the run the return is
    compared with), flagged past the mapping's swing threshold."""
    label, end = "", ""
    if previous is not None:
        try:
            manifest = read_manifest(previous)
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("la_code", mapping.metadata.la_code) != mapping.metadata.la_code:
            previous = None  # another authority's run: nothing of this one to compare with
        else:
            period = manifest.get("period")
            end = str(period.get("end", "")) if isinstance(period, dict) else ""
            label = _relative(previous, out)
    return against_last_quarter(national, previous, label, swing_threshold(mapping), end)


def swing_threshold(mapping: Mapping) -> float:
    """The mapping's `comparison.swing_threshold_percent`, or the default."""

    settings = getattr(mapping, "comparison", None)
    value = getattr(settings, "swing_threshold_percent", None)
    return float(value) if value is not None else DEFAULT_THRESHOLD_PERCENT


def _manifest_about(mapping, period, result, report, cld_name, started, comparison) -> dict:

    totals = result.reconciliation[result.reconciliation["read"].notna()]
    return {
        "cldetl_version": __version__,
        "authority": mapping.metadata.la_name,
        "la_code": mapping.metadata.la_code,
        "mapping": {"file": Path(mapping.path).name, "sha256": file_sha256(mapping.path)},
        "period": {"start": f"{period.start:%Y-%m-%d}", "end": f"{period.end:%Y-%m-%d}"},
        "started": _iso(started),
        "finished": _iso(now_utc()),
        "exit_status": 1 if report.errors else 0,
        "cld_file": cld_name,
        "rows": {
            "cld": int(len(result.cld)),
            "sources_read": {str(r.source): int(r.read) for r in totals.itertuples(index=False)},
            "excluded_records": int((result.exclusions["level"] == "record").sum()),
            "unmapped_codes": int(len(result.unmapped)),
            "validation_errors": int(report.errors),
            "validation_warnings": int(report.warnings),
        },
        "comparison": comparison,
    }


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def now_utc() -> datetime:
    """A run's start time (UTC): its run folder's name and its manifest's start."""
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_database_url(mapping: Mapping) -> None:
    """Fail before the output folder is touched when the database URL is missing: a run that
    cannot start leaves nothing behind (not even its lock)."""
    if any(s.template is not None for s in mapping.sources.values()):
        database_url(mapping)


def _no_stage(stage: str, status: str, rows: int | None = None) -> None:
    """The default stage callback: nothing to show."""


def run(
    mapping_path: str | Path,
    out_dir: str | Path,
    period_end: date | None = None,
    *,
    html_report: bool = False,
    connectors_dir: Path | None = None,
    progress: bool = False,
    on_stage: Callable[..., None] = _no_stage,
    output: dict | None = None,
    technical_appendix: bool = False,
    trial: bool = False,
    list_left_out: bool = False,
) -> RunResult:
    """Produce one authority's return for one period, as a new run in `out_dir`'s history.
    Raises CldetlError when it cannot run; validation errors in the output are in the result
    (files are still written).

    The output folder is checked (writable, free space) and locked before anything is
    extracted; the extract's staging files stay in the run's private staging folder inside
    `out_dir`, and nothing becomes visible until the whole run folder is published.

    `on_stage(stage, "start"|"done", rows)` is told as each stage starts and ends (the CLI's
    progress display); rows are counts only, never values. `output` overrides the mapping's
    `output` section (encoding, gzip) for this run.

    A mapping with TODO or unchecked marks left by init-mapping is refused (exit 2) unless
    `trial`; a trial run is marked in its manifest, report and console (issue 18).
    """

    started = now_utc()
    if not trial:
        refuse_unchecked(mapping_path)
    mapping = with_output(load_mapping(mapping_path), output)
    period = reporting_period(mapping, period_end)
    log.info("producing %s for the 12 months to %s", mapping.metadata.la_name, period.end)
    check_database_url(mapping)
    mapping_population(mapping)  # a bad population file stops the run before it starts
    with open_run(out_dir) as staging:
        on_stage("extract", "start")
        # Per record, what the database leaves out (a second query; issue 18.7), when asked.
        left_out = left_out_records(mapping, period, connectors_dir)[0] if list_left_out else None
        # Each source read, and its database table's rows and those its query leaves out
        # counted, in one snapshot: where the reconciliation starts (table rows = left out
        # in the database + read).
        extracted = read_sources(
            mapping,
            period,
            connectors_dir=connectors_dir,
            staging_dir=staging.extract_dir,
            progress=progress,
        )
        on_stage("extract", "done", sum(len(f) for f in extracted.frames.values()))
        on_stage("transform", "start")
        result = transform(mapping, extracted.frames, period, database_counts=extracted.counts)
        del extracted
        on_stage("transform", "done", len(result.cld))
        on_stage("validate", "start")
        table, report = validate_output(mapping, period, result.cld)
        # Onboarding's warnings (a trial run; a rule that stopped producing rows) join the
        # findings, so the report and the workbook show them like any other.
        report.add_findings(
            run_findings(
                mapping_path,
                trial=trial,
                out_dir=out_dir,
                period_end=period.end,
                lineage=result.lineage,
            )
        )
        on_stage("validate", "done", report.rows)
        on_stage("write", "start")
        published = write_run(
            staging,
            mapping,
            period,
            result,
            report,
            table,
            html_report,
            started=started,
            technical_appendix=technical_appendix,
            trial=trial,
            left_out=left_out,
        )
        on_stage("write", "done", len(published.files) - 1)
    run_result = published.run_result(mapping, period, result, report)
    run_result.trial = trial
    return run_result


def dry_run(
    mapping_path: str | Path, period_end: date | None = None, connectors_dir: Path | None = None
) -> str:
    """What a run would extract, and the SQL it would send, without touching any database."""
    mapping = load_mapping(mapping_path)
    period = reporting_period(mapping, period_end)
    lines = [
        f"{mapping.metadata.la_name} (LA {mapping.metadata.la_code}): the 12 months "
        f"{period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}",
        "",
        "Sources:",
    ]
    for name, source in mapping.sources.items():
        origin = f"template {source.template}" if source.template else f"file {source.file}"
        lines.append(
            f"  {name}: {origin}; {len(source.columns)} columns; key {', '.join(source.key)}"
        )
    dialect, note = "mssql", "SQL Server, the usual home of Mosaic and LiquidLogic reporting"
    try:
        if mapping.connection is not None and any(s.template for s in mapping.sources.values()):
            dialect = make_url(database_url(mapping)).get_backend_name()
            note = "the dialect of the configured database"
    except Exception as exc:  # noqa: BLE001 - a dry run shows the SQL even without a database
        note += f"; the database URL is not available here ({type(exc).__name__})"
    lines += ["", f"SQL for {dialect} ({note}):", ""]
    if any(s.template for s in mapping.sources.values()):
        lines.append(format_rendered(render_all(mapping, dialect, period, connectors_dir)))
    return "\n".join(lines)


def _count_or_none(value) -> int | None:
    """A reconciliation count, or None where none was taken (blank in the file)."""

    return None if pd.isna(value) else int(value)


def summary(run_result: RunResult) -> dict:
    """The closing numbers of a run, for the console and for Prefect artifacts."""
    result, report = run_result.result, run_result.report
    excluded = result.exclusions[result.exclusions["level"] == "record"]
    totals = result.reconciliation[result.reconciliation["read"].notna()]
    return {
        "authority": run_result.mapping.metadata.la_name,
        "la_code": run_result.mapping.metadata.la_code,
        "period": f"{run_result.period.start:%d/%m/%Y} to {run_result.period.end:%d/%m/%Y}",
        "rows_written": int(len(result.cld)),
        "reconciliation": [
            {
                "source": str(row.source),
                # Blank where no count was taken (a run without the database's counts).
                "table_rows": _count_or_none(row.table_rows),
                "left_out_in_database": _count_or_none(row.left_out_in_database),
                "read": int(row.read),
                "in_output": int(row.in_output),
                "person_details": int(row.person_details),
                "excluded": int(row.excluded),
            }
            for row in totals.itertuples(index=False)
        ],
        "excluded_by_reason": {
            str(k): int(v) for k, v in excluded["reason"].value_counts().sort_index().items()
        },
        "unmapped_codes": int(len(result.unmapped)),
        "unmapped_rows": int(result.unmapped["rows"].sum()) if len(result.unmapped) else 0,
        "validation_errors": report.errors,
        "validation_warnings": report.warnings,
        "files": {k: str(v) for k, v in run_result.files.items()},
        "run_folder": str(run_result.run_dir) if run_result.run_dir else None,
        "manifest": str(run_result.manifest_path) if run_result.manifest_path else None,
        "trial": bool(run_result.trial),
        # Onboarding's own warnings (a rule that stopped producing rows), said on the console.
        "run_warnings": [
            str(m)
            for m in report.findings.loc[
                report.findings["rule"].astype(str).str.startswith("run.rule_"), "message"
            ]
        ],
        "compared_with": str(run_result.compared_with) if run_result.compared_with else None,
    }
