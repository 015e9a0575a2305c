"""The `cldetl` command. A thin shell: each command calls one library function and turns its
result into output and an exit code (0 ok, 1 data errors found, 2 unusable input or usage)."""

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


@click.group(cls=CldetlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Debug logging (never prints row values).")
@click.version_option(package_name="cldetl")
def cli(verbose: bool) -> None:
    """Produce and check the Adult Social Care Client Level Data (CLD) Release 2 return."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown for people (docs/spec.md), JSON for programs.",
)
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
def mapping_docs() -> None:
    """Print the mapping language guide and reference (docs/mapping.md)."""
    from cldetl.mapping_docs import mapping_markdown

    click.echo(mapping_markdown(), nl=False)


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


def _period_end(value: str | None):
    if value is None:
        return None
    from datetime import date

    from cldetl.errors import UsageError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--period-end {value!r} is not a date in YYYY-MM-DD form.") from None


@cli.command()
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The authority's mapping file (mappings/<la>.yaml).",
)
@click.option(
    "--period-end",
    help="Last day of the 12-month period, YYYY-MM-DD "
    "(default: the last completed quarter, or month for monthly submitters).",
)
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
@click.option(
    "--connectors",
    "connectors_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder of extract templates (default: connectors/ beside mappings/).",
)
def run(
    mapping_path: str,
    period_end: str | None,
    out_dir: str | None,
    html_report: bool,
    connectors_dir: str | None,
) -> None:
    """Extract, transform, validate and write one authority's CLD return.

    Exit status: 0 the file validates, 1 it has errors (files still written), 2 could not run.
    """
    from pathlib import Path

    from rich.console import Console

    from cldetl.pipeline import run as run_pipeline
    from cldetl.pipeline import summary

    out = out_dir or str(Path("out") / Path(mapping_path).stem)
    result = run_pipeline(
        mapping_path,
        out,
        _period_end(period_end),
        html_report=html_report,
        connectors_dir=Path(connectors_dir) if connectors_dir else None,
        progress=True,
    )
    _print_run_summary(Console(highlight=False), summary(result))
    sys.exit(result.exit_code)


def _print_run_summary(console, numbers: dict) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{numbers['authority']}[/bold] (LA {numbers['la_code']}), {numbers['period']}"
    )
    console.print(f"  rows written: {numbers['rows_written']}")
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


@cli.command()
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The authority's mapping file.",
)
@click.option(
    "--dialect",
    type=click.Choice(["mssql", "postgresql", "oracle", "sqlite"]),
    default="mssql",
    show_default=True,
    help="The database the SQL is rendered for.",
)
@click.option(
    "--period-end",
    help="Period end the bound dates are shown for (YYYY-MM-DD; "
    "default: the last completed quarter).",
)
@click.option(
    "--connectors",
    "connectors_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder of extract templates (default: connectors/ beside mappings/).",
)
def sql(
    mapping_path: str, dialect: str, period_end: str | None, connectors_dir: str | None
) -> None:
    """Print the SQL every source runs, for review by the authority's DBA.

    Values are never in the SQL: they are bind parameters, listed above each statement.
    """
    from pathlib import Path

    from cldetl.extract import format_rendered, render_all
    from cldetl.mapping import load_mapping
    from cldetl.pipeline import reporting_period

    mapping = load_mapping(mapping_path)
    period = reporting_period(mapping, _period_end(period_end))
    rendered = render_all(
        mapping, dialect, period, Path(connectors_dir) if connectors_dir else None
    )
    click.echo(format_rendered(rendered), nl=False)


@cli.command("test-mapping")
@click.argument("mapping_path", type=click.Path(dir_okay=False))
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


def main() -> None:
    cli(prog_name="cldetl")
