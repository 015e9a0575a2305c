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


def main() -> None:
    cli(prog_name="cldetl")
