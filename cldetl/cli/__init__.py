"""The `cldetl` command. A thin shell: each command calls library functions and turns their
results into output and an exit code.

Exit status, the same for every command:

    0    ok
    1    data errors found (the file or the return has errors; mapping tests failed)
    2    unusable input, wrong use or the environment: a file that cannot be read, a bad option,
         a missing database, a full disk, out of memory
    70   internal error, a bug in cldetl (EX_SOFTWARE of BSD's sysexits.h): one line on stderr
         says where an owner-only crash report was saved; please send it to the maintainers.
         The report holds exception types and code locations only, never a message or a value.
    130  interrupted (Ctrl-C)

No command ever prints a traceback: `CldetlGroup.main` turns every exception into one of the
codes above.

Options mean the same on every command that has them (--mapping, --period-end, --connectors,
--verbose), and logs never carry row values, whatever the level. Every value from an input (a
mapping, a file, a database) that is printed goes through `cldetl.display.shown`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from cldetl.cli.crash_report import save_crash_report
from cldetl.cli.flows_loader import load_flows_module
from cldetl.display import shown
from cldetl.errors import CldetlError, InputError, UsageError
from cldetl.extract import format_rendered, render_all
from cldetl.mapping import load_mapping
from cldetl.mapping.docs import mapping_markdown
from cldetl.national import preview as national_preview
from cldetl.national import preview_text
from cldetl.onboarding import profile_mapping, profile_text, starter_mapping, unchecked_suggestions
from cldetl.pipeline import dry_run as describe
from cldetl.pipeline import reporting_period, summary, swing_threshold
from cldetl.pipeline import run as run_pipeline
from cldetl.publish.write import write_text
from cldetl.report.compare import (
    DEFAULT_THRESHOLD_PERCENT,
    compare_returns,
    comparison_json,
    comparison_svg,
    comparison_text,
)
from cldetl.report.console import print_report, report_json
from cldetl.report.page import write_file_report
from cldetl.spec import load_spec, spec_as_json
from cldetl.spec.docs import spec_markdown
from cldetl.transform.mapping_tests import run_mapping_tests
from cldetl.transform.reasons import DETAILS_UNUSED, automatic_reasons
from cldetl.validate import validate as run_validation
from cldetl.validate.catalogue import catalogue_text
from cldetl.validate.csvfile import read_cld_csv

EXIT_OK, EXIT_DATA_ERRORS, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in cldetl; a crash report was saved
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class CldetlGroup(click.Group):
    """The error contract (module docstring): every exception ends in exit 1, 2, 70 or 130 with
    a short message on stderr, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CldetlError as exc:
            if exc.exit_code == EXIT_INTERNAL:
                raise  # a bug: `main` saves a crash report
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's `main` without its standalone handling (which prints 'Aborted!' and lets
        other exceptions through as tracebacks), then one exit code for whatever happened."""
        arguments = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(arguments, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - the contract covers every exception
            code = self._exit_code_for(exc, arguments)
        sys.exit(code if isinstance(code, int) else EXIT_OK)

    def _exit_code_for(self, exc: BaseException, arguments: list[str]) -> int:
        if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(exc, click.ClickException):
            # click's usage errors (unknown option, bad value, missing argument) and file
            # errors: wrong use or unusable input, never "data errors found".
            exc.show()
            return EXIT_UNUSABLE
        if isinstance(exc, CldetlError) and exc.exit_code != EXIT_INTERNAL:
            click.echo(f"Error: {exc}", err=True)
            return exc.exit_code
        if isinstance(exc, MemoryError):
            click.echo(
                "Error: out of memory. The input is larger than this machine can hold: run "
                "on a machine with more memory, or check the input is the file you meant.",
                err=True,
            )
            return EXIT_UNUSABLE
        if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
            # The environment refused (full disk, read-only folder, permission): say what and
            # where; the file name is cldetl's or the user's path, never a row value.
            where = f": {shown(exc.filename, limit=300)}" if exc.filename else ""
            click.echo(f"Error: {shown(exc.strerror, limit=200)}{where}", err=True)
            return EXIT_UNUSABLE
        return self._internal_error(exc, arguments)

    def _internal_error(self, exc: BaseException, arguments: list[str]) -> int:

        command = next((a for a in arguments if a in self.commands), "")
        path = save_crash_report(exc, command)
        where = (
            f"crash report (no data values) saved to {path}; please send it to the maintainers"
            if path
            else "no crash report could be saved (no writable private folder)"
        )
        # An InternalError's message is cldetl's own words (counts, names), so it is shown;
        # any other exception's message may hold a value and is not.
        said = " " + " ".join(str(exc).split()) if isinstance(exc, CldetlError) else ""
        click.echo(
            f"Internal error in cldetl ({type(exc).__name__}), exit {EXIT_INTERNAL}:{said} "
            f"{where}.",
            err=True,
        )
        return EXIT_INTERNAL


def _enable_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        logging.getLogger().setLevel(logging.DEBUG)
    return value


def verbose_option(command):
    """`--verbose` on every command: debug logs (row values are never logged)."""
    return click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        callback=_enable_debug,
        help="Debug logging (never prints row values).",
    )(command)


def mapping_option(command):
    return click.option(
        "--mapping",
        "mapping_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="The authority's mapping file (mappings/<la>.yaml).",
    )(command)


def period_end_option(command):
    return click.option(
        "--period-end",
        help="Last day of the 12-month reporting period, YYYY-MM-DD (default: the last "
        "completed quarter, or month for monthly submitters).",
    )(command)


def connectors_option(command):
    return click.option(
        "--connectors",
        "connectors_dir",
        default=None,
        type=click.Path(file_okay=False),
        help="Folder of extract templates that override the packaged ones (default: a connectors/ "
        "folder beside the mapping or its folder, if any).",
    )(command)


@click.group(cls=CldetlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Debug logging (never prints row values).")
@click.version_option(package_name="cldetl")
def cli(verbose: bool) -> None:
    """Produce and check the Adult Social Care Client Level Data (CLD) Release 2 return."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --- the specification ---------------------------------------------------------------------


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown for people (docs/spec.md), JSON for programs.",
)
@verbose_option
def spec(fmt: str) -> None:
    """Print the Release 2 specification: fields, defined lists, when each is mandatory."""

    loaded = load_spec()
    if fmt == "json":
        click.echo(json.dumps(spec_as_json(loaded), indent=2, ensure_ascii=False))
    else:
        click.echo(spec_markdown(loaded), nl=False)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "markdown"]),
    default="text",
    show_default=True,
    help="Text to read, CSV for a spreadsheet, Markdown for docs/rules.md.",
)
@verbose_option
def rules(fmt: str) -> None:
    """List every rule: code, severity, message, source and what happens nationally."""

    click.echo(catalogue_text(load_spec(), fmt), nl=False)


@cli.command("mapping-docs")
@verbose_option
def mapping_docs() -> None:
    """Print the mapping language guide and reference (docs/mapping.md)."""

    click.echo(mapping_markdown(automatic_reasons(), DETAILS_UNUSED), nl=False)


# --- validate ------------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A readable report grouped by rule, or JSON with every finding.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=str),
    help="Also write the report (report.html, findings.xlsx) to this folder.",
)
@click.option(
    "--technical-appendix",
    is_flag=True,
    help="With --report: also cross-check with Great Expectations and write its Data Docs "
    "into the report's technical/ folder (slow: GE takes seconds to load).",
)
@click.option(
    "--monthly", is_flag=True, help="The authority submits monthly: any month end is fine."
)
@click.option(
    "--examples",
    default=3,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Example findings shown per rule in the text report.",
)
@verbose_option
def validate(
    file: str,
    fmt: str,
    report_dir: str | None,
    technical_appendix: bool,
    monthly: bool,
    examples: int,
) -> None:
    """Check a CLD CSV FILE as the national portal does.

    Exit status: 0 no errors (warnings allowed), 1 errors found, 2 the file cannot be read.
    """

    # The file is checked in batches, so memory does not grow with it; the report reads it
    # again batch by batch for what it shows.
    report = run_validation(file, monthly=monthly)
    if fmt == "json":
        click.echo(report_json(report))
    else:
        from rich.console import Console

        print_report(report, load_spec(), Console(highlight=False), examples=examples)
    if report_dir:
        written = write_file_report(
            report_dir,
            file,
            report,
            run_date=datetime.now(UTC).replace(microsecond=0),
            technical_appendix=technical_appendix,
        )
        click.echo(f"HTML report: {shown(written[0], limit=300)}", err=fmt == "json")
    sys.exit(EXIT_DATA_ERRORS if report.errors else EXIT_OK)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A readable preview, or JSON with the data quality table.",
)
@click.option(
    "--quality-csv",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also write the data quality table (one row per field) to this CSV file.",
)
@click.option("--monthly", is_flag=True, help="The authority submits monthly.")
@verbose_option
def preview(file: str, fmt: str, quality_csv: str | None, monthly: bool) -> None:
    """Preview what DHSC's national processing will make of a CLD FILE: the derived reporting
    period, rows treated as one event, rows without a person ID, data quality per field.

    Exit status: 0 (the preview warns, it does not fail), 2 the file cannot be read.
    """

    table = read_cld_csv(file)
    if table.too_large:
        raise InputError(f"{file}: over the DLP's size limit; run `cldetl validate` on it.")
    result = national_preview(table, run_validation(table, monthly=monthly))
    if fmt == "json":
        click.echo(json.dumps(result.to_json_dict(), indent=2))
    else:
        click.echo(preview_text(result).replace(file, shown(file, 200), 1), nl=False)
    if quality_csv:
        write_text(result.quality_csv(), __import__("pathlib").Path(quality_csv))
        click.echo(f"Data quality table: {quality_csv}", err=fmt == "json")
    sys.exit(EXIT_OK)


# --- run -----------------------------------------------------------------------------------


def _period_end(value: str | None):
    if value is None:
        return None

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--period-end {value!r} is not a date in YYYY-MM-DD form.") from None


def _connectors(value: str | None):

    return Path(value) if value else None


@cli.command()
@mapping_option
@period_end_option
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Output folder (default: out/<mapping name>).",
)
@click.option(
    "--report",
    "html_report",
    is_flag=True,
    help="Also write report.html (for analysts and managers) and findings.xlsx.",
)
@click.option(
    "--technical-appendix",
    is_flag=True,
    help="With --report: also cross-check with Great Expectations and write its Data Docs "
    "under technical/ (slow: Great Expectations takes seconds to start).",
)
@connectors_option
@click.option(
    "--prefect",
    is_flag=True,
    help="Run as the Prefect flow flows/quarterly_return.py (retries, artifacts, run history). "
    "Starts a temporary local Prefect server unless PREFECT_API_URL is set.",
)
@click.option(
    "--dry-run", is_flag=True, help="Only show what would be extracted and the SQL it would run."
)
@click.option(
    "--encoding",
    type=click.Choice(["windows-1252", "utf-8"]),
    default=None,
    help="Encoding of the CLD file (default: the mapping's output.encoding, windows-1252 as the "
    "DLP asks; utf-8 only where the DSCRO agreed to it).",
)
@click.option(
    "--gzip/--no-gzip",
    "use_gzip",
    default=None,
    help="Write the CLD file gzipped (.csv.gz), which the DLP accepts (default: the mapping's "
    "output.gzip).",
)
@verbose_option
def run(
    mapping_path: str,
    period_end: str | None,
    out_dir: str | None,
    html_report: bool,
    connectors_dir: str | None,
    prefect: bool,
    dry_run: bool,
    encoding: str | None = None,
    use_gzip: bool | None = None,
    technical_appendix: bool = False,
) -> None:
    """Extract, transform, validate and write one authority's CLD return.

    Exit status: 0 the file validates, 1 it has errors (files still written), 2 could not run.
    """

    from rich.console import Console

    console = Console(highlight=False)
    if dry_run:
        click.echo(describe(mapping_path, _period_end(period_end), _connectors(connectors_dir)))
        sys.exit(EXIT_OK)
    out = out_dir or str(Path("out") / Path(mapping_path).stem)
    if prefect:
        if connectors_dir:
            raise UsageError(
                "--connectors does not apply with --prefect: the flow uses connectors/ beside "
                "the mapping's folder."
            )
        flows = _flows_module(mapping_path, "quarterly_return")
        numbers = flows.run_quarterly_return(
            mapping_path, _period_end(period_end), out, html_report
        )
        _print_run_summary(console, numbers)
        if numbers.get("state") == "FAILED":
            message = shown(numbers.get("state_message"), limit=300)
            console.print(f"  [red]flow run failed: {message}[/red]")
        sys.exit(EXIT_DATA_ERRORS if numbers["validation_errors"] else EXIT_OK)

    with _StageProgress(console) as stages:
        result = run_pipeline(
            mapping_path,
            out,
            _period_end(period_end),
            html_report=html_report,
            connectors_dir=_connectors(connectors_dir),
            progress=True,
            on_stage=stages.update,
            output={k: v for k, v in (("encoding", encoding), ("gzip", use_gzip)) if v is not None},
            technical_appendix=technical_appendix,
        )
    _print_run_summary(console, summary(result))
    sys.exit(result.exit_code)


class _StageProgress:
    """A line per pipeline stage with its row count (counts only, never values)."""

    LABELS = {
        "extract": "source rows read",
        "transform": "CLD rows built",
        "validate": "rows validated",
        "write": "files written",
    }

    def __init__(self, console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(finished_text="[green]done[/green]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _StageProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, stage: str, status: str, rows: int | None = None) -> None:
        if status == "start":
            self.tasks[stage] = self.progress.add_task(f"{stage} ...", total=1)
            return
        label = f"{stage}: {rows:,} {self.LABELS.get(stage, 'rows')}"
        self.progress.update(self.tasks[stage], description=label, completed=1)


def _flows_module(mapping_path: str, name: str):
    """flows/<name>.py beside the mapping's folder (or in the current folder)."""

    candidates = [
        Path(mapping_path).resolve().parent.parent / "flows" / f"{name}.py",
        Path.cwd() / "flows" / f"{name}.py",
    ]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise UsageError(
            f"flows/{name}.py was not found beside the mapping's folder or in the current "
            "folder; run from the cldetl repository (or the authority's copy of it)."
        )
    return load_flows_module(name, path)


def _print_run_summary(console, numbers: dict) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{shown(numbers['authority'])}[/bold] (LA {shown(numbers['la_code'])}), "
        f"{shown(numbers['period'])}"
    )
    console.print(f"  rows written: {shown(numbers['rows_written'])}")
    if numbers.get("reconciliation"):
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        columns = ("  source", "table rows", "left out in database", "read")
        for column in (*columns, "in output", "person details", "excluded"):
            table.add_column(column, justify="left" if column == "  source" else "right")
        for row in numbers["reconciliation"]:
            table.add_row(
                f"  {shown(row['source'])}",
                "" if row.get("table_rows") is None else f"{row['table_rows']:,}",
                ""
                if row.get("left_out_in_database") is None
                else f"{row['left_out_in_database']:,}",
                f"{row['read']:,}",
                f"{row['in_output']:,}",
                f"{row['person_details']:,}",
                f"{row['excluded']:,}",
            )
        console.print(table)
    if numbers["excluded_by_reason"]:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("  excluded records, by reason")
        table.add_column("records", justify="right")
        for reason, n in numbers["excluded_by_reason"].items():
            table.add_row(f"  {shown(reason, limit=200)}", shown(n))
        console.print(table)
    style = "yellow" if numbers["unmapped_codes"] else "green"
    console.print(
        f"  [{style}]unmapped local codes: {shown(numbers['unmapped_codes'])} "
        f"({shown(numbers['unmapped_rows'])} values)[/{style}]"
    )
    style = "red" if numbers["validation_errors"] else "green"
    console.print(
        f"  [{style}]validation: {shown(numbers['validation_errors'])} error(s)[/{style}], "
        f"{shown(numbers['validation_warnings'])} warning(s)"
    )
    for name, path in numbers["files"].items():
        if name != "cld":
            console.print(f"  {shown(name)}: {shown(path, limit=300)}", highlight=False)
    if numbers.get("run_folder"):
        console.print(f"  run folder: {shown(numbers['run_folder'], limit=300)}")
    if numbers.get("compared_with"):
        console.print(f"  compared with last quarter: {shown(numbers['compared_with'], limit=300)}")


@cli.command(name="run-all")
@click.option(
    "--mappings",
    "mappings_dir",
    default="mappings",
    show_default=True,
    type=click.Path(file_okay=False, exists=True),
    help="The folder of mapping files: one return per *.yaml.",
)
@period_end_option
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Each authority's files go to <out>/<mapping name>/.",
)
@click.option(
    "--cluster",
    "cluster_address",
    default=None,
    metavar="tcp://HOST:PORT",
    help="A running Dask scheduler to run on (default: a local cluster for this run).",
)
@click.option(
    "--workers",
    "n_workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes of the local cluster (without --cluster).",
)
@click.option("--report", "html_report", is_flag=True, help="Also write the HTML reports.")
@connectors_option
@verbose_option
def run_all(
    mappings_dir: str,
    period_end: str | None,
    out_dir: str,
    cluster_address: str | None,
    n_workers: int,
    html_report: bool,
    connectors_dir: str | None,
) -> None:
    """Every authority's return, in parallel on a Dask cluster (Prefect flow all-authorities).

    Exit status: 0 all completed without validation errors, 1 any authority failed, 2 could
    not run. Starts a temporary local Prefect server unless PREFECT_API_URL is set.
    """

    from rich.console import Console
    from rich.table import Table

    if cluster_address and not cluster_address.startswith(("tcp://", "tls://", "inproc://")):
        raise UsageError(
            f"--cluster {shown(cluster_address)} is not a Dask scheduler address; give it as "
            "tcp://HOST:PORT (`dask scheduler` prints it)."
        )
    # flows/ beside the mappings folder, as for `run --prefect` (a mapping inside it).
    flows = _flows_module(str(Path(mappings_dir) / "any.yaml"), "all_authorities")
    done = flows.run_all_authorities(
        mappings_dir,
        _period_end(period_end),
        out_dir,
        cluster_address,
        n_workers,
        html_report,
        str(Path(connectors_dir).resolve()) if connectors_dir else None,
    )
    console = Console(highlight=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("authority", "LA", "state", "rows", "errors", "output / reason"):
        table.add_column(column)
    for o in done["authorities"]:
        completed = o["state"] == "COMPLETED"
        table.add_row(
            shown(o["authority"]),
            shown(o["la_code"]),
            f"[{'green' if completed else 'red'}]{o['state']}[/]",
            "" if o["rows"] is None else f"{o['rows']:,}",
            "" if o["errors"] is None else str(o["errors"]),
            shown(o["out_dir"] if completed else o["message"], limit=200),
        )
    console.print(table)
    sys.exit(EXIT_OK if done["state"] == "COMPLETED" else EXIT_DATA_ERRORS)


# --- mapping tools -------------------------------------------------------------------------


@cli.command()
@mapping_option
@click.option(
    "--dialect",
    type=click.Choice(["mssql", "postgresql", "oracle", "sqlite"]),
    default="mssql",
    show_default=True,
    help="The database the SQL is rendered for.",
)
@period_end_option
@connectors_option
@verbose_option
def sql(
    mapping_path: str, dialect: str, period_end: str | None, connectors_dir: str | None
) -> None:
    """Print the SQL every source runs, for review by the authority's DBA.

    Values are never in the SQL: they are bind parameters, listed above each statement.
    """

    mapping = load_mapping(mapping_path)
    period = reporting_period(mapping, _period_end(period_end))
    rendered = render_all(mapping, dialect, period, _connectors(connectors_dir))
    click.echo(format_rendered(rendered), nl=False)


@cli.command("test-mapping")
@click.argument("mapping_path", type=click.Path(dir_okay=False))
@verbose_option
def test_mapping(mapping_path: str) -> None:
    """Run the tests written in a mapping file (given source rows, expected CLD rows).

    Exit status: 0 all pass, 1 a test fails, 2 the mapping cannot be read.
    """

    mapping = load_mapping(mapping_path)
    results = run_mapping_tests(mapping)
    if not results:
        click.echo(f"{shown(mapping_path, limit=300)}: the mapping has no tests.")
        sys.exit(EXIT_DATA_ERRORS)
    failed = 0
    for result in results:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {shown(result.name, limit=200)}")
        for problem in result.problems:
            click.echo(f"      {shown(problem, limit=1000)}")
        failed += not result.passed
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(EXIT_DATA_ERRORS if failed else EXIT_OK)


# --- onboarding a new authority -------------------------------------------------------------


@cli.command("init-mapping")
@click.option(
    "--system", required=True, type=click.Choice(["mosaic", "liquidlogic"]), help="Case system."
)
@click.option("--la-code", required=True, help="The authority's LA code.")
@click.option("--url-env", required=True, help="Environment variable holding the database URL.")
@click.option("--la-name", default=None, help="The authority's name (default: LA <code>).")
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the mapping (default: mappings/<la code>.yaml).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@period_end_option
@connectors_option
@verbose_option
def init_mapping(
    system, la_code, url_env, la_name, out_path, force, period_end, connectors_dir
) -> None:
    """Write a starter mapping from the authority's own database: the system's sources with
    default parameters, every lookup pre-filled with the codes found (row counts as
    comments) and a suggested CLD value for each, and a skeleton of mapping tests."""

    target = Path(out_path or f"mappings/{la_code}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists: choose another --out, or --force to replace it.")
    starter = starter_mapping(
        system,
        la_code,
        url_env,
        la_name=la_name,
        period_end=_period_end(period_end),
        connectors_dir=_connectors(connectors_dir),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter.text, encoding="utf-8")
    click.echo(f"Wrote {target}: {len(starter.sources)} sources, {starter.lookups} lookups.")
    for name, rows in starter.sources.items():
        click.echo(f"  {name}: {rows:,} rows read")
    click.echo(
        f"  {starter.codes} local codes found, each with a suggested CLD value to check "
        f"({starter.weak} weak matches)."
    )
    if starter.suggested:
        click.echo(
            f"  {len(starter.suggested)} values named example codes the database does not "
            "hold: this install's code found for each is written in their place, marked "
            "'# suggested: check'."
        )
    if starter.todo:
        click.echo(f"  {len(starter.todo)} to do by hand (marked '# TODO' in the file):")
        for where in starter.todo:
            click.echo(f"    {shown(where, 100)}")
    click.echo("Next: check the file top to bottom, then `cldetl profile --mapping` it.")


@cli.command()
@mapping_option
@period_end_option
@connectors_option
@verbose_option
def profile(mapping_path: str, period_end: str | None, connectors_dir: str | None) -> None:
    """Profile a mapping's lookups against its database: for each lookup column, the codes
    present, their counts, and which the mapping does not map.

    Exit status: 0 every code is mapped, 1 some are not, 2 the mapping or database is unusable.
    """

    mapping, found = profile_mapping(
        mapping_path, _period_end(period_end), _connectors(connectors_dir)
    )
    click.echo(profile_text(mapping, found))
    marked = unchecked_suggestions(mapping_path)
    if marked:
        click.echo(
            f"{marked} value(s) still marked '# suggested: check' in {shown(mapping_path)}: "
            "check each, then delete its mark."
        )
    sys.exit(EXIT_DATA_ERRORS if (~found["mapped"]).any() else EXIT_OK)


# --- compare with last quarter ----------------------------------------------------------------


@cli.command()
@click.argument("previous", type=click.Path(dir_okay=False, path_type=str))
@click.argument("current", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A readable summary, or JSON with every count.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Flag counts that move by more than this percentage (default: the mapping's "
    "comparison.swing_threshold_percent with --mapping, else 20).",
)
@click.option(
    "--mapping",
    "mapping_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Take the swing threshold from this mapping file.",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also write the chart (SVG) to this file.",
)
@verbose_option
def compare(
    previous: str,
    current: str,
    fmt: str,
    threshold: float | None,
    mapping_path: str | None,
    chart: str | None,
) -> None:
    """Compare CURRENT with last quarter's PREVIOUS CLD file over the months both cover:
    counts by event type (and month) and service type, people and events that appear,
    disappear or changed, by field. Shows counts only, never a personal value.

    Exit status: 0 compared (flagged swings are listed, not errors), 2 a file cannot be read.
    """

    if threshold is None and mapping_path:
        threshold = swing_threshold(load_mapping(mapping_path))
    comparison = compare_returns(
        previous, current, threshold_percent=threshold or DEFAULT_THRESHOLD_PERCENT
    )
    click.echo(
        comparison_json(comparison) if fmt == "json" else comparison_text(comparison), nl=False
    )
    if chart:
        try:
            write_text(comparison_svg(comparison), Path(chart))
        except OSError as exc:
            from cldetl.errors import UsageError

            raise UsageError(f"--chart {chart}: cannot be written ({exc.strerror}).") from None
        click.echo(f"Chart: {chart}", err=True)
    sys.exit(EXIT_OK)


def main() -> None:
    _quiet_broken_pipes()
    cli(prog_name="cldetl")


class _PipeSafe:
    """stdout that, once its reader has gone (`cldetl validate ... | head`), drops further
    output instead of raising BrokenPipeError: the command still finishes its work (a report
    it was asked to write) and exits with its own code, quietly."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._gone = False

    def _reader_gone(self) -> None:

        self._gone = True
        try:  # later writes, and the interpreter's final flush, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text):
        if self._gone:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        if self._gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _quiet_broken_pipes() -> None:
    if sys.stdout is not None and not isinstance(sys.stdout, _PipeSafe):
        sys.stdout = _PipeSafe(sys.stdout)
