"""The `cldetl` command. A thin shell: each command calls library functions and turns their
results into output and an exit code (0 ok, 1 data errors found, 2 unusable input or usage).

Options mean the same on every command that has them (--mapping, --period-end, --connectors,
--verbose), and logs never carry row values, whatever the level.
"""

from __future__ import annotations

import logging
import sys

import click

from cldetl.errors import CldetlError

EXIT_OK, EXIT_DATA_ERRORS, EXIT_UNUSABLE = 0, 1, 2


class CldetlGroup(click.Group):
    """Turns cldetl's own errors into one clear line on stderr and exit code 2, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CldetlError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)


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
    from cldetl.spec import load_spec

    loaded = load_spec()
    if fmt == "json":
        import json

        from cldetl.spec import spec_as_json

        click.echo(json.dumps(spec_as_json(loaded), indent=2, ensure_ascii=False))
    else:
        from cldetl.spec_docs import spec_markdown

        click.echo(spec_markdown(loaded), nl=False)


@cli.command("mapping-docs")
@verbose_option
def mapping_docs() -> None:
    """Print the mapping language guide and reference (docs/mapping.md)."""
    from cldetl.mapping_docs import mapping_markdown

    click.echo(mapping_markdown(), nl=False)


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
    help="Also write an HTML report (Great Expectations Data Docs and summary) to this folder.",
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
def validate(file: str, fmt: str, report_dir: str | None, monthly: bool, examples: int) -> None:
    """Check a CLD CSV FILE as the national portal does.

    Exit status: 0 no errors (warnings allowed), 1 errors found, 2 the file cannot be read.
    """
    from cldetl.csvfile import read_cld_csv
    from cldetl.spec import load_spec
    from cldetl.validate import validate as run_validation

    table = read_cld_csv(file)
    report = run_validation(table, monthly=monthly)
    if fmt == "json":
        from cldetl.report import report_json

        click.echo(report_json(report))
    else:
        from rich.console import Console

        from cldetl.report import print_report

        print_report(report, load_spec(), Console(highlight=False), examples=examples)
    if report_dir:
        from cldetl.ge_report import write_ge_report

        index = write_ge_report(table, report, report_dir)
        click.echo(f"HTML report: {index}", err=fmt == "json")
    sys.exit(EXIT_DATA_ERRORS if report.errors else EXIT_OK)


# --- run -----------------------------------------------------------------------------------


def _period_end(value: str | None):
    if value is None:
        return None
    from datetime import date

    from cldetl.errors import UsageError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--period-end {value!r} is not a date in YYYY-MM-DD form.") from None


def _connectors(value: str | None):
    from pathlib import Path

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
    help="Also write the HTML validation report (Great Expectations Data Docs).",
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
@verbose_option
def run(
    mapping_path: str,
    period_end: str | None,
    out_dir: str | None,
    html_report: bool,
    connectors_dir: str | None,
    prefect: bool,
    dry_run: bool,
) -> None:
    """Extract, transform, validate and write one authority's CLD return.

    Exit status: 0 the file validates, 1 it has errors (files still written), 2 could not run.
    """
    from pathlib import Path

    from rich.console import Console

    console = Console(highlight=False)
    if dry_run:
        from cldetl.pipeline import dry_run as describe

        click.echo(describe(mapping_path, _period_end(period_end), _connectors(connectors_dir)))
        sys.exit(EXIT_OK)
    out = out_dir or str(Path("out") / Path(mapping_path).stem)
    if prefect:
        if connectors_dir:
            from cldetl.errors import UsageError

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
            console.print(f"  [red]flow run failed: {numbers.get('state_message')}[/red]")
        sys.exit(EXIT_DATA_ERRORS if numbers["validation_errors"] else EXIT_OK)

    from cldetl.pipeline import run as run_pipeline
    from cldetl.pipeline import summary

    with _StageProgress(console) as stages:
        result = run_pipeline(
            mapping_path,
            out,
            _period_end(period_end),
            html_report=html_report,
            connectors_dir=_connectors(connectors_dir),
            progress=True,
            on_stage=stages.update,
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
    from pathlib import Path

    from cldetl.errors import UsageError
    from cldetl.flows_loader import load_flows_module

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
        f"[bold]{numbers['authority']}[/bold] (LA {numbers['la_code']}), {numbers['period']}"
    )
    console.print(f"  rows written: {numbers['rows_written']}")
    if numbers.get("reconciliation"):
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("  source", "read", "in output", "person details", "excluded"):
            table.add_column(column, justify="left" if column == "  source" else "right")
        for row in numbers["reconciliation"]:
            table.add_row(
                f"  {row['source']}",
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
            table.add_row(f"  {reason}", str(n))
        console.print(table)
    style = "yellow" if numbers["unmapped_codes"] else "green"
    console.print(
        f"  [{style}]unmapped local codes: {numbers['unmapped_codes']} "
        f"({numbers['unmapped_rows']} values)[/{style}]"
    )
    style = "red" if numbers["validation_errors"] else "green"
    console.print(
        f"  [{style}]validation: {numbers['validation_errors']} error(s)[/{style}], "
        f"{numbers['validation_warnings']} warning(s)"
    )
    for name, path in numbers["files"].items():
        if name != "cld":
            console.print(f"  {name}: {path}", highlight=False)


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
    from cldetl.extract import format_rendered, render_all
    from cldetl.mapping import load_mapping
    from cldetl.pipeline import reporting_period

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
    from cldetl.mapping import load_mapping
    from cldetl.mapping_tests import run_mapping_tests

    mapping = load_mapping(mapping_path)
    results = run_mapping_tests(mapping)
    if not results:
        click.echo(f"{mapping_path}: the mapping has no tests.")
        sys.exit(EXIT_DATA_ERRORS)
    failed = 0
    for result in results:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.name}")
        for problem in result.problems:
            click.echo(f"      {problem}")
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
    from pathlib import Path

    from cldetl.errors import UsageError
    from cldetl.onboarding import starter_mapping

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
    from cldetl.onboarding import profile_mapping, profile_text

    mapping, found = profile_mapping(
        mapping_path, _period_end(period_end), _connectors(connectors_dir)
    )
    click.echo(profile_text(mapping, found))
    sys.exit(EXIT_DATA_ERRORS if (~found["mapped"]).any() else EXIT_OK)


def main() -> None:
    cli(prog_name="cldetl")
