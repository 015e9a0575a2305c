"""Commands that check a CLD file or explain the rules: validate, preview, compare, rules, spec.

Each only calls library code (validate, national, report, spec) and turns the result into
output and an exit code (`cldetl.cli.exit_codes`).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from cldetl.cli.exit_codes import EXIT_DATA_ERRORS, EXIT_OK
from cldetl.cli.options import (
    format_option,
    monthly_option,
    technical_appendix_option,
    verbose_option,
)
from cldetl.display import shown
from cldetl.errors import InputError, UsageError
from cldetl.mapping import load_mapping
from cldetl.national import preview as national_preview
from cldetl.national import preview_text
from cldetl.pipeline import swing_threshold
from cldetl.publish.write import write_text
from cldetl.report.compare import (
    DEFAULT_THRESHOLD_PERCENT,
    compare_returns,
    comparison_json,
    comparison_svg,
    comparison_text,
)
from cldetl.report.console import print_report, report_json
from cldetl.report.page import file_facts, write_report
from cldetl.spec import load_spec, spec_as_json
from cldetl.spec.docs import spec_markdown
from cldetl.validate import validate as run_validation
from cldetl.validate.catalogue import catalogue_text
from cldetl.validate.csvfile import read_cld_csv

# --- the specification ---------------------------------------------------------------------


@click.command()
@format_option(["markdown", "json"], "Markdown for people (docs/spec.md), JSON for programs.")
@verbose_option
def spec(fmt: str) -> None:
    """Print the Release 2 specification: fields, defined lists, when each is mandatory."""

    loaded = load_spec()
    if fmt == "json":
        click.echo(json.dumps(spec_as_json(loaded), indent=2, ensure_ascii=False))
    else:
        click.echo(spec_markdown(loaded), nl=False)


@click.command()
@format_option(
    ["text", "csv", "markdown"], "Text to read, CSV for a spreadsheet, Markdown for docs/rules.md."
)
@verbose_option
def rules(fmt: str) -> None:
    """List every rule: code, severity, message, source and what happens nationally."""

    click.echo(catalogue_text(load_spec(), fmt), nl=False)


# --- validate ------------------------------------------------------------------------------


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@format_option(["text", "json"], "A readable report grouped by rule, or JSON with every finding.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=str),
    help="Also write the report (report.html, findings.xlsx) to this folder.",
)
@technical_appendix_option(
    "With --report: also cross-check with Great Expectations and write its Data Docs "
    "into the report's technical/ folder (slow: GE takes seconds to load)."
)
@monthly_option("The authority submits monthly: any month end is fine.")
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

    # The report pages need the rows; without --report the file is checked in batches, so
    # memory does not grow with it.
    table = read_cld_csv(file) if report_dir else None
    report = run_validation(table if table is not None else file, monthly=monthly)
    if fmt == "json":
        click.echo(report_json(report))
    else:
        from rich.console import Console

        print_report(report, load_spec(), Console(highlight=False), examples=examples)
    if report_dir:
        written = write_report(
            report_dir,
            table=table,
            report=report,
            run_date=datetime.now(UTC).replace(microsecond=0),
            technical_appendix=technical_appendix,
            **file_facts(table),
        )
        click.echo(f"HTML report: {shown(written[0], limit=300)}", err=fmt == "json")
    sys.exit(EXIT_DATA_ERRORS if report.errors else EXIT_OK)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@format_option(["text", "json"], "A readable preview, or JSON with the data quality table.")
@click.option(
    "--quality-csv",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also write the data quality table (one row per field) to this CSV file.",
)
@monthly_option("The authority submits monthly.")
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
        write_text(result.quality_csv(), Path(quality_csv))
        click.echo(f"Data quality table: {quality_csv}", err=fmt == "json")
    sys.exit(EXIT_OK)


# --- compare with last quarter ----------------------------------------------------------------


@click.command()
@click.argument("previous", type=click.Path(dir_okay=False, path_type=str))
@click.argument("current", type=click.Path(dir_okay=False, path_type=str))
@format_option(["text", "json"], "A readable summary, or JSON with every count.")
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
            raise UsageError(f"--chart {chart}: cannot be written ({exc.strerror}).") from None
        click.echo(f"Chart: {chart}", err=True)
    sys.exit(EXIT_OK)
