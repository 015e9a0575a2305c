"""`run`: one authority's return, end to end: mapping -> extract -> transform -> validate ->
write. The CLI's `cldetl run` and the Prefect flows both call these stage functions; nothing
here knows about either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cldetl.period import ReportingPeriod
from cldetl.write import cld_file_name, staged, write_csv, write_text

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.findings import ValidationReport
    from cldetl.mapping import Mapping
    from cldetl.transform import TransformResult

log = logging.getLogger(__name__)

EXCLUSIONS = "exclusions.csv"
RECONCILIATION = "reconciliation.csv"
UNMAPPED = "unmapped_codes.csv"
LINEAGE = "lineage.csv"
VALIDATION = "validation.json"
REPORT_DIR = "validation_report"


@dataclass
class RunResult:
    """What a run left behind, for the CLI's summary and the flows' artifacts."""

    mapping: Mapping
    period: ReportingPeriod
    result: TransformResult
    report: ValidationReport
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.report.errors else 0


def reporting_period(mapping: Mapping, period_end: date | None, today: date | None = None):
    """The period to produce: the given end, or the last completed quarter (or month)."""
    cadence = mapping.metadata.cadence
    if period_end is None:
        return ReportingPeriod.last_completed(today or date.today(), cadence)
    return ReportingPeriod.ending(period_end, cadence)


def validate_output(mapping: Mapping, period: ReportingPeriod, cld: pd.DataFrame):
    """Validate the transform's output in memory, as `cldetl validate` would the file."""
    from cldetl.csvfile import table_from_frame
    from cldetl.validate import validate

    name = cld_file_name(mapping.metadata.la_code, period.end)
    table = table_from_frame(cld, name)
    return table, validate(table, monthly=mapping.metadata.cadence == "monthly")


def write_outputs(
    out_dir: str | Path,
    mapping: Mapping,
    period: ReportingPeriod,
    result: TransformResult,
    report: ValidationReport,
    table=None,
    html_report: bool = False,
) -> dict[str, Path]:
    """Write the return and its reports atomically into `out_dir`."""
    from cldetl.portal_file import portal_file_name, write_portal_csv
    from cldetl.report import report_json

    output = mapping.output
    name = portal_file_name(cld_file_name(mapping.metadata.la_code, period.end), output.gzip)
    with staged(out_dir) as stage:
        # The return as the DLP accepts it; characters it cannot carry become findings.
        written = write_portal_csv(
            result.cld,
            stage.path(name),
            encoding=output.encoding,
            transliteration=output.transliteration,
            use_gzip=output.gzip,
        )
        report.add_findings(written.findings())
        write_csv(result.exclusions, stage.path(EXCLUSIONS))
        write_csv(result.reconciliation, stage.path(RECONCILIATION))
        write_csv(result.unmapped, stage.path(UNMAPPED))
        write_csv(result.lineage, stage.path(LINEAGE))
        write_text(report_json(report) + "\n", stage.path(VALIDATION))
        if html_report and table is not None:
            from cldetl.ge_report import write_ge_report

            write_ge_report(table, report, stage.path(REPORT_DIR))
        moved = stage.commit()
    files = {p.name: p for p in moved}
    files["cld"] = Path(out_dir) / name
    log.info("wrote %d files to %s", len(moved), out_dir)
    return files


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
) -> RunResult:
    """Produce one authority's return for one period. Raises CldetlError when it cannot run;
    validation errors in the output are in the result (files are still written).

    `on_stage(stage, "start"|"done", rows)` is told as each stage starts and ends (the CLI's
    progress display); rows are counts only, never values. `output` overrides the mapping's
    `output` section (encoding, gzip) for this run.
    """
    from cldetl.extract import extract
    from cldetl.mapping import load_mapping
    from cldetl.transform import transform

    mapping = load_mapping(mapping_path)
    if output:
        mapping = mapping.model_copy(update={"output": mapping.output.model_copy(update=output)})
    period = reporting_period(mapping, period_end)
    log.info("producing %s for the 12 months to %s", mapping.metadata.la_name, period.end)
    on_stage("extract", "start")
    frames = extract(mapping, period, connectors_dir=connectors_dir, progress=progress)
    on_stage("extract", "done", sum(len(f) for f in frames.values()))
    on_stage("transform", "start")
    result = transform(mapping, frames, period)
    on_stage("transform", "done", len(result.cld))
    on_stage("validate", "start")
    table, report = validate_output(mapping, period, result.cld)
    on_stage("validate", "done", report.rows)
    on_stage("write", "start")
    files = write_outputs(out_dir, mapping, period, result, report, table, html_report)
    on_stage("write", "done", len(files) - 1)
    return RunResult(mapping, period, result, report, files)


def dry_run(
    mapping_path: str | Path, period_end: date | None = None, connectors_dir: Path | None = None
) -> str:
    """What a run would extract, and the SQL it would send, without touching any database."""
    from cldetl.extract import database_url, format_rendered, render_all
    from cldetl.mapping import load_mapping

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
        from sqlalchemy.engine import make_url

        if mapping.connection is not None and any(s.template for s in mapping.sources.values()):
            dialect = make_url(database_url(mapping)).get_backend_name()
            note = "the dialect of the configured database"
    except Exception as exc:  # noqa: BLE001 - a dry run shows the SQL even without a database
        note += f"; the database URL is not available here ({type(exc).__name__})"
    lines += ["", f"SQL for {dialect} ({note}):", ""]
    if any(s.template for s in mapping.sources.values()):
        lines.append(format_rendered(render_all(mapping, dialect, period, connectors_dir)))
    return "\n".join(lines)


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
    }


def summary_json(run_result: RunResult) -> str:
    return json.dumps(summary(run_result), indent=2, ensure_ascii=False)
