"""Prefect flow `quarterly-return`: one authority's CLD return for one reporting period.

    load mapping -> extract (one task per source: retries with exponential backoff, a timeout)
    -> transform -> validate -> write (atomic, owner-only) -> publish (Prefect artifacts)

Every step calls a stage function of the `cldetl` library (cldetl.pipeline, cldetl.extract,
cldetl.transform); this module holds orchestration only, so `cldetl run` and this flow produce
the same files. A run whose output has validation errors still writes the file and its reports
and publishes the artifacts, then ends in a Failed state whose message says why and where the
files are. Artifacts and logs carry counts, codes and paths, never row values (names, NHS
numbers, dates of birth are personal data): findings are published as counts by rule.

Run it from a deployment (prefect.yaml, docs/scheduling.md), from `cldetl run --prefect`
(which calls `run_quarterly_return`), or in Python:

    from quarterly_return import quarterly_return        # with flows/ on sys.path
    quarterly_return("mappings/eastmoor.yaml", period_end="2025-09-30", out_dir="out/eastmoor")

flows/ is a folder of entrypoint scripts, not a package: this module has no relative imports
and can be loaded by file path (importlib), as Prefect loads entrypoints. It does not use
`from __future__ import annotations`: `all-authorities` sends this code by value to Dask
workers, where Prefect must still resolve the flow's parameter types (`date`).
"""

import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from cldetl.cli.flows_loader import telemetry_off
from cldetl.spec.period import parse_period_end

telemetry_off()  # before Prefect is imported: no analytics from a server cldetl starts

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Failed, State  # noqa: E402
from prefect.tasks import exponential_backoff  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.extract import Extracted
    from cldetl.mapping import Mapping
    from cldetl.pipeline import PublishedRun, RunResult
    from cldetl.publish.history import RunStaging
    from cldetl.spec.period import ReportingPeriod
    from cldetl.transform import TransformResult
    from cldetl.validate.findings import ValidationReport

__all__ = [
    "ValidationErrorsFound",
    "artifact_key",
    "is_transient",
    "quarterly_return",
    "run_quarterly_return",
    "submission_date",
]

LONDON = ZoneInfo("Europe/London")

# Extract tasks: a database that is briefly unavailable (a nightly backup, a failover) is
# retried after 30 s, 60 s and 120 s; a source that takes longer than an hour is stopped (and
# retried). Only transient faults are retried (`is_transient`); anything else fails at once.
EXTRACT_RETRIES = 3
RETRY_BACKOFF_SECONDS = 30.0
SOURCE_TIMEOUT_SECONDS = 3600.0

# Task results hold personal data (source rows, the return itself): never cache them and never
# persist them to Prefect's result storage; they only pass between tasks in memory.
PRIVATE = {"cache_policy": NO_CACHE, "persist_result": False}


# --- tasks -----------------------------------------------------------------------------------


def is_transient(exc: BaseException | None) -> bool:
    """A fault that may pass by itself: retried. Everything else fails at once, with its reason.

    cldetl's own errors say which they are (`CldetlError.transient`: a refused or dropped
    connection, a timeout, a deadlock); an unknown host, a failed login, a missing table or
    column and a mapping error are not. Python's own ConnectionError and TimeoutError (a
    source stopped by `source_timeout_seconds`) count as transient too.
    """
    if exc is None:
        return False
    return bool(getattr(exc, "transient", False)) or isinstance(exc, ConnectionError | TimeoutError)


def worth_retrying(task, task_run, state) -> bool:
    """Prefect's retry condition for extract tasks: only transient faults (`is_transient`)."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as error:  # the state holds no result: judge the error that says so
        exc = error
    return is_transient(exc if isinstance(exc, BaseException) else None)


@task(name="load-mapping", **PRIVATE)
def load_mapping_task(mapping_path: str) -> "Mapping":
    from cldetl.mapping import load_mapping
    from cldetl.onboarding import refuse_unchecked

    # A flow never runs an unchecked starter mapping (there is no --trial here, by design).
    refuse_unchecked(mapping_path)
    return load_mapping(mapping_path)


@task(
    name="extract-source",
    task_run_name="extract-{name}",
    retries=EXTRACT_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=RETRY_BACKOFF_SECONDS),
    retry_condition_fn=worth_retrying,
    # No timeout here: the flow sets one in the main thread only (with_options cannot take a
    # timeout away again: None there means "unchanged").
    **PRIVATE,
)
def extract_source_task(
    mapping: "Mapping",
    name: str,
    period: "ReportingPeriod",
    connectors_dir: str | None = None,
    staging_dir: str | None = None,
) -> "Extracted":
    """One source of the mapping, read for the period (staged inside the run's private
    staging folder in the output area, never in /tmp), and its database table counted in
    the same snapshot as the read: where its reconciliation starts."""
    options = {"connectors_dir": Path(connectors_dir) if connectors_dir else None}
    if staging_dir is not None:
        options["staging_dir"] = Path(staging_dir) / name
    extracted = _extract_source(mapping, name, period, **options)
    get_run_logger().info("source %s: %d rows", name, len(extracted.frames[name]))
    return extracted


@task(name="transform", **PRIVATE)
def transform_task(
    mapping: "Mapping",
    frames: "dict[str, pd.DataFrame]",
    period: "ReportingPeriod",
    database_counts: dict | None = None,
) -> "TransformResult":
    from cldetl.transform import transform

    return transform(mapping, frames, period, database_counts=database_counts)


@task(name="validate", **PRIVATE)
def validate_task(mapping: "Mapping", period: "ReportingPeriod", cld: "pd.DataFrame"):
    from cldetl.pipeline import validate_output

    table, report = validate_output(mapping, period, cld)
    get_run_logger().info(
        "validation: %d rows, %d errors, %d warnings", report.rows, report.errors, report.warnings
    )
    return table, report


@task(name="write", **PRIVATE)
def write_task(
    staging: "RunStaging",
    mapping: "Mapping",
    period: "ReportingPeriod",
    result: "TransformResult",
    report: "ValidationReport",
    table: Any,
    html_report: bool,
    started: datetime,
    technical_appendix: bool = False,
) -> "PublishedRun":
    """Write every file of the run into its staging folder and publish the run folder with one
    rename (cldetl.pipeline.write_run)."""
    from cldetl.pipeline import write_run

    options = {"started": started, "technical_appendix": technical_appendix}
    return write_run(staging, mapping, period, result, report, table, html_report, **options)


@task(name="publish", **PRIVATE)
def publish_task(run_result: "RunResult") -> dict:
    """The run's artifacts (reconciliation, validation by rule, unmapped codes, where the files
    are) and its summary."""
    from cldetl.pipeline import summary

    numbers = summary(run_result)
    publish_artifacts(run_result, numbers)
    return numbers


# --- the flow --------------------------------------------------------------------------------


def _run_name() -> str:
    """Flow run names like `eastmoor-2025-09-30`: the period the run produces, resolved for a
    scheduled run (no `period_end`) from the day it was scheduled for and the mapping's
    cadence, so the run history says which quarter each run made."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    stem = Path(str(parameters.get("mapping_path", "cld"))).stem
    return f"{stem}-{_period_label(parameters)}"


def _period_label(parameters: dict) -> str:
    """The period end a run with these parameters produces (yyyy-mm-dd), or, when the mapping
    cannot be read, `for-<day>` (the day the run is for; the run itself then fails saying why)."""
    from cldetl.errors import CldetlError
    from cldetl.mapping import load_mapping
    from cldetl.pipeline import reporting_period

    end = parameters.get("period_end")
    as_of = parameters.get("as_of") or submission_date()
    try:
        as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
        if end is not None:
            return f"{parse_period_end(end):%Y-%m-%d}"
        mapping = load_mapping(str(parameters.get("mapping_path")))
        return f"{reporting_period(mapping, None, as_of).end:%Y-%m-%d}"
    except (CldetlError, ValueError, OSError):
        return f"for-{as_of}"


class ValidationErrorsFound(Exception):
    """The return was written but has validation errors: the Failed state's data.

    A Failed state must carry an exception (Prefect reads its data as the run's error; a dict
    there logs `TypeError: Unexpected result for failed state`). `numbers` is the run's summary.
    """

    def __init__(self, message: str, numbers: dict) -> None:
        super().__init__(message)
        self.numbers = numbers

    def __reduce__(self):  # picklable with its numbers (Dask sends states between processes)
        return (type(self), (str(self), self.numbers))


@flow(
    name="quarterly-return",
    flow_run_name=_run_name,
    description="One authority's CLD return: extract, transform, validate, write, publish.",
)
def quarterly_return(
    mapping_path: str,
    period_end: date | str | None = None,
    out_dir: str | None = None,
    html_report: bool = False,
    connectors_dir: str | None = None,
    extract_retries: int = EXTRACT_RETRIES,
    retry_backoff_seconds: float = RETRY_BACKOFF_SECONDS,
    source_timeout_seconds: float = SOURCE_TIMEOUT_SECONDS,
    as_of: date | None = None,
    encoding: Literal["windows-1252", "utf-8"] | None = None,
    gzip: bool | None = None,
    technical_appendix: bool = False,
    allow_future: bool = False,
) -> dict | State:
    """Produce one authority's CLD return for one reporting period.

    Args:
        mapping_path: the authority's mapping file (mappings/<la>.yaml).
        period_end: the last day of the 12-month period (a quarter end, or a month end for a
            monthly mapping), as 30/09/2025 or 2025-09-30. Default: the last completed quarter
            (or month) on the day the run was scheduled for, in England: a January run covers
            the year to 31 December, an April run the year to 31 March, and so on (guidance,
            "Collection schedule"). One that is not a date, or is after the day the run is
            for, fails the run with the one-line message `cldetl run` gives.
        out_dir: output folder (default: out/<mapping file name>), made absolute.
        html_report: also write the report for analysts and managers (report.html) and the
            findings workbook (findings.xlsx).
        connectors_dir: the folder of SQL templates (default: connectors/ beside mappings/).
        extract_retries: retries of a source whose extract fails with a transient fault (a
            refused or dropped connection, a timeout, a deadlock); other faults fail at once.
        retry_backoff_seconds: delay before the first retry; each later one doubles.
        source_timeout_seconds: a source's extract is stopped after this long (in the main
            thread; on a Dask worker the database's statement timeout bounds a source).
        as_of: the day the run is for, which decides the default period (default: the day
            this run was scheduled for; `all-authorities` passes its own).
        encoding: the CLD file's encoding (default: the mapping's output.encoding).
        gzip: write the CLD file gzipped (default: the mapping's output.gzip).
        technical_appendix: with html_report, also the Great Expectations cross-check.
        allow_future: produce a period that ends after the day the run is for.

    Returns:
        The run's summary (`cldetl.pipeline.summary`), or a Failed state (carrying a
        `ValidationErrorsFound` with the summary) when the output has validation errors; the
        files are written either way.
    """
    from cldetl.errors import UsageError
    from cldetl.pipeline import reporting_period, with_output
    from cldetl.spec.period import refuse_future

    logger = get_run_logger()
    day = as_of or submission_date()
    try:  # as `cldetl run --period-end`: the same parser, the same one-line message
        end = None if period_end is None else parse_period_end(period_end)
        if end is not None and not allow_future:
            refuse_future(end, day)
    except UsageError as exc:
        logger.error("%s", exc)  # the message only: a wrong parameter is not a crash
        return Failed(message=str(exc), data=exc)
    out = str(Path(out_dir or Path("out") / Path(mapping_path).stem).resolve())
    mapping = with_output(load_mapping_task(mapping_path), {"encoding": encoding, "gzip": gzip})
    period = reporting_period(mapping, end, day)
    logger.info(
        "producing %s (LA %s) for %s to %s",
        mapping.metadata.la_name,
        mapping.metadata.la_code,
        f"{period.start:%d/%m/%Y}",
        f"{period.end:%d/%m/%Y}",
    )

    extract = extract_source_task.with_options(
        retries=extract_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=retry_backoff_seconds),
        # Prefect can interrupt a task only in the main thread: elsewhere (a Dask worker's
        # thread) it would log a warning per source and not stop it.
        timeout_seconds=source_timeout_seconds if _in_main_thread() else None,
    )
    from cldetl.national.population import mapping_population
    from cldetl.pipeline import check_database_url, now_utc
    from cldetl.publish.history import open_run

    started = now_utc()
    check_database_url(mapping)
    # As `cldetl run`: a bad population file stops the run before anything is extracted (the
    # write step reads the mapping's population again for the measures' rates).
    mapping_population(mapping)
    # As `cldetl run`: the output folder is checked and locked before anything is extracted,
    # the extract's files stay in the run's private staging folder, and nothing is visible
    # until the whole run folder is published.
    with open_run(out) as staging:
        # One source after another: gentle on the case system's database, and in the main
        # thread Prefect's timeout can interrupt a source (in a worker thread it cannot).
        # Each task counts and reads its source in one snapshot of the database.
        extracted = [
            extract(mapping, name, period, connectors_dir, str(staging.extract_dir))
            for name in mapping.sources
        ]
        frames = {name: f for e in extracted for name, f in e.frames.items()}
        counts = {name: c for e in extracted for name, c in e.counts.items()}
        del extracted
        result = transform_task(mapping, frames, period, counts)
        del frames
        table, report = validate_task(mapping, period, result.cld)
        written = (staging, mapping, period, result, report, table)
        published = write_task(*written, html_report, started, technical_appendix)
    numbers = publish_task(published.run_result(mapping, period, result, report))
    if report.errors:
        message = failure_message(numbers, report, out)
        return Failed(message=message, data=ValidationErrorsFound(message, numbers))
    return numbers


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# --- for `cldetl run --prefect` ----------------------------------------------------------------


def run_quarterly_return(
    mapping_path: str | Path,
    period_end: date | str | None = None,
    out_dir: str | Path | None = None,
    html_report: bool = False,
    *,
    encoding: str | None = None,
    use_gzip: bool | None = None,
    technical_appendix: bool = False,
    allow_future: bool = False,
) -> dict:
    """Run the flow in this process and return its summary with the final state: every option
    of `cldetl run` (encoding, gzip, report, technical appendix, allow future) is a parameter
    of the flow run, as a deployment run would get it.

    Returns `cldetl.pipeline.summary`'s dict plus "state" ("COMPLETED" or "FAILED") and
    "state_message" (why it failed: validation errors by rule). Exit codes as `cldetl run`:
    0 when "validation_errors" is 0, else 1.

    Raises the run's own exception (a `CldetlError` for a bad mapping, period or database:
    exit code 2) when it could not produce the file at all. Without PREFECT_API_URL set,
    Prefect starts a temporary local server for the run (10-20 s).
    """
    from cldetl.errors import CldetlError

    state = quarterly_return(
        mapping_path=str(mapping_path),
        period_end=period_end,
        out_dir=None if out_dir is None else str(out_dir),
        html_report=html_report,
        encoding=encoding,
        gzip=use_gzip,
        technical_appendix=technical_appendix,
        allow_future=allow_future,
        return_state=True,
    )
    data = state.result(raise_on_failure=False)
    if isinstance(data, ValidationErrorsFound):
        data = data.numbers
    elif isinstance(data, BaseException):
        raise data
    if not isinstance(data, dict):
        raise CldetlError(f"the flow run ended {state.type.value}: {state.message}")
    return {**data, "state": state.type.value, "state_message": state.message}


# --- helpers ---------------------------------------------------------------------------------


def submission_date() -> date:
    """The day this run is for, in England: a scheduled run's scheduled start (a run that
    starts late still produces the quarter it was scheduled for), otherwise today."""
    from prefect.runtime import flow_run

    return flow_run.scheduled_start_time.astimezone(LONDON).date()


def _extract_source(
    mapping: "Mapping", name: str, period: "ReportingPeriod", **options
) -> "Extracted":
    """`cldetl.extract.extract_source`, looked up when called (tests replace it)."""
    from cldetl import extract as extract_module

    return extract_module.extract_source(mapping, name, period, **options)


def failure_message(numbers: dict, report: "ValidationReport", out_dir: str) -> str:
    by_rule = report.by_rule()
    errors = by_rule[by_rule["severity"] == "error"]
    rules = ", ".join(f"{r.rule}: {r.count}" for r in errors.itertuples(index=False))
    return (
        f"{numbers['authority']} (LA {numbers['la_code']}), {numbers['period']}: "
        f"{report.errors} validation errors ({rules}); the file and its reports were written "
        f"to {Path(out_dir).resolve()} - fix the errors before uploading it."
    )


def artifact_key(la_code: str, period_end: date, what: str) -> str:
    """The one place artifact keys are made: `cld-<LA code>-<period end>-<what>`, such as
    `cld-998-2025-09-30-return`. Keyed by authority and period, so a rerun for another period
    (a test run, a late resubmission) never becomes the latest of this one; each rerun of the
    same period adds a version. Prefect keys: lowercase letters, digits and dashes."""
    text = f"cld-{la_code}-{period_end:%Y-%m-%d}-{what}".lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def publish_artifacts(run_result: "RunResult", numbers: dict) -> None:
    """The run's artifacts, keyed by authority and period (`artifact_key`): the return (where
    its files are, absolute paths), the reconciliation, validation by rule, unmapped codes, and
    the comparison with last quarter when there is one."""
    from cldetl.pipeline import REPORT_PAGE
    from cldetl.spec import load_spec

    la_code = numbers["la_code"]

    def key(what: str) -> str:
        return artifact_key(la_code, run_result.period.end, what)

    about = f"{numbers['authority']} (LA {la_code}), {numbers['period']}"
    result, report = run_result.result, run_result.report

    create_table_artifact(
        _records(result.reconciliation),
        key=key("reconciliation"),
        description=f"Reconciliation: every source record accounted for. {about}",
    )

    titles = {rule_id: rule.title for rule_id, rule in load_spec().rules.items()}
    by_rule = [
        {
            "rule": r.rule,
            "severity": r.severity,
            "count": int(r.count),
            "title": titles.get(r.rule, ""),
        }
        for r in report.by_rule().itertuples(index=False)
    ]
    create_table_artifact(
        by_rule,
        key=key("validation"),
        description=(
            f"Validation: {report.errors} errors, {report.warnings} warnings in "
            f"{report.rows} rows, by rule. {about}"
        ),
    )

    create_table_artifact(
        _records(result.unmapped),
        key=key("unmapped-codes"),
        description=(
            f"Local codes with no entry in the mapping's lookups: {numbers['unmapped_codes']} "
            f"codes on {numbers['unmapped_rows']} rows. {about}"
        ),
    )

    files = numbers["files"]
    report_page = files.get(REPORT_PAGE)
    html = f"`{report_page}`" if report_page else "not written (run with html_report: true)"
    status = (
        f"**Validation failed: {report.errors} errors**, {report.warnings} warnings"
        if report.errors
        else f"Validation passed: 0 errors, {report.warnings} warnings"
    )
    lines = [
        f"# CLD return: {about}",
        "",
        status,
        "",
        "| | |",
        "|---|---|",
        f"| Rows written | {numbers['rows_written']} |",
        f"| Unmapped codes | {numbers['unmapped_codes']} ({numbers['unmapped_rows']} rows) |",
        f"| CLD file (upload to the Data Landing Portal) | `{files['cld']}` |",
        f"| HTML validation report | {html} |",
        "",
        "## Files",
        "",
        "Owner-only: they hold personal data. Keep them on this machine.",
        "",
        "| File | Path |",
        "|---|---|",
        *(f"| {_md(name)} | `{path}` |" for name, path in sorted(files.items()) if name != "cld"),
        "",
        "## Records excluded, by reason",
        "",
        "| Reason | Records |",
        "|---|---|",
        *(f"| {_md(reason)} | {n} |" for reason, n in numbers["excluded_by_reason"].items()),
    ]
    create_markdown_artifact(
        "\n".join(lines),
        key=key("return"),
        description=f"Where the return and its reports are. {about}",
    )

    comparison = last_quarter_comparison(run_result)
    if comparison is not None:
        rows, description = comparison
        create_table_artifact(rows, key=key("comparison"), description=f"{description} {about}")


def last_quarter_comparison(run_result: "RunResult") -> "tuple[list[dict], str] | None":
    """The comparison with last quarter (cldetl.report.compare, made by the run when its history
    holds an earlier period): counts by event type over the months both files cover, with
    swings flagged; None when there is no earlier period. Counts only, no personal values."""
    comparison = run_result.comparison
    if comparison is None:
        return None
    rows = _records(comparison.by_event_type)
    flagged = int(comparison.by_event_type["flagged"].astype(bool).sum())
    description = (
        f"Against last quarter ({_plain(run_result.compared_with)}): records by event type over "
        f"the months both files cover; {flagged} swing(s) beyond the threshold."
    )
    return rows, description


def _records(frame: "pd.DataFrame") -> list[dict]:
    """A small frame as JSON-ready rows (blanks as empty text)."""
    rows = []
    for record in frame.to_dict("records"):
        rows.append({str(k): _plain(v) for k, v in record.items()})
    return rows


def _plain(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value if isinstance(value, int | float | str) else str(value)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
