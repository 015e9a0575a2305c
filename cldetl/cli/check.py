"""Commands that check a CLD file or explain the rules: validate, preview, measures, compare,
rules, spec.

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
    csv_file_option,
    format_option,
    monthly_option,
    technical_appendix_option,
    verbose_option,
    write_extra_csv,
)
from cldetl.cli.terminal import output_console
from cldetl.display import shown
from cldetl.errors import UsageError
from cldetl.mapping import load_mapping
from cldetl.national import preview_text, validate_and_preview
from cldetl.national.allocator import large_blocks_mapped, two_malloc_arenas
from cldetl.national.measures import measures as national_measures
from cldetl.national.measures import measures_method
from cldetl.national.measures.output import compare as compare_measures
from cldetl.national.measures.output import measures_json, measures_text
from cldetl.national.measures.output import records_csv as records_csv_text
from cldetl.national.population import chosen_population
from cldetl.national.run_files import national_run_of
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
from cldetl.report.page import write_file_report
from cldetl.spec import load_spec, spec_as_json
from cldetl.spec.docs import spec_markdown
from cldetl.validate import validate as run_validation
from cldetl.validate.catalogue import catalogue_text

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
    # The file is checked in batches, so memory does not grow with it; the report reads it
    # again batch by batch for what it shows.
    national = None
    if report_dir:
        # The report previews DHSC's processing too: validated and previewed in one read.
        two_malloc_arenas()
        large_blocks_mapped()
        report, previewed = validate_and_preview(file, monthly=monthly, row_codes=False)
        national = national_run_of(previewed, file, report)
        del previewed  # the run keeps what the report reads of it (not the unique events)
    else:
        report = run_validation(file, monthly=monthly)
    if fmt == "json":
        click.echo(report_json(report))
    else:
        print_report(report, load_spec(), output_console(), examples=examples)
    if report_dir:
        written = write_file_report(
            report_dir,
            file,
            report,
            run_date=datetime.now(UTC).replace(microsecond=0),
            technical_appendix=technical_appendix,
            national=national,
        )
        click.echo(f"HTML report: {shown(written[0], limit=300)}", err=fmt == "json")
    sys.exit(EXIT_DATA_ERRORS if report.errors else EXIT_OK)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@format_option(["text", "json"], "A readable preview, or JSON with the data quality table.")
@csv_file_option(
    "--quality-csv",
    "Also write the data quality table (one row per field) to this CSV file.",
)
@csv_file_option(
    "--fates-csv",
    "Also write each row's fate and DQ codes (one row per row of FILE) to this CSV file.",
)
@monthly_option("The authority submits monthly.")
@verbose_option
def preview(
    file: str, fmt: str, quality_csv: str | None, fates_csv: str | None, monthly: bool
) -> None:
    """Preview what DHSC's national processing will make of a CLD FILE: the derived reporting
    period and its flags, what happens to each row (kept, dropped and why, merged into which
    row, end date set to the date of death), data quality per field.

    Exit status: 0 (the preview warns, it does not fail), 2 the file cannot be read.
    """

    # The measures' events are not shown; each row's DQ codes only in the fates CSV.
    result = _preview_file(file, monthly, events=False, row_codes=bool(fates_csv))
    if fmt == "json":
        click.echo(json.dumps(result.to_json_dict(), indent=2))
    else:
        click.echo(preview_text(result).replace(file, shown(file, 200), 1), nl=False)
    if quality_csv:
        write_extra_csv(result.quality_csv(), quality_csv, "Data quality table", fmt == "json")
    if fates_csv:
        write_extra_csv(result.fates_csv(), fates_csv, "Row fates", fmt == "json")
    sys.exit(EXIT_OK)


def _preview_file(
    file: str,
    monthly: bool,
    stated_when_underived: bool = False,
    events: bool = True,
    row_codes: bool = False,
):
    """The file validated and previewed in one read, a batch at a time (in worker processes
    for a large file, as `cldetl validate` does)."""
    two_malloc_arenas()
    large_blocks_mapped()
    _report, result = validate_and_preview(
        file,
        monthly=monthly,
        stated_when_underived=stated_when_underived,
        events=events,
        row_codes=row_codes,
    )
    return result


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, path_type=str),
    help="Last quarter's file: each figure is compared with it, and moves are flagged.",
)
@click.option(
    "--population",
    type=click.Path(dir_okay=False, path_type=str),
    help="A CSV of ONS mid-year estimates (columns age_band,population) for rates per 100,000.",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=str),
    help="Take the population figures (its `population` section) from this mapping file.",
)
@click.option(
    "--threshold",
    type=float,
    default=DEFAULT_THRESHOLD_PERCENT,
    show_default=True,
    help="Flag a figure that moves more than this percentage since --previous.",
)
@format_option(["text", "json"], "A readable summary, or JSON: each figure, its records by reason.")
@csv_file_option(
    "--records-csv",
    "Also write the records behind every figure (one row per record) to this CSV file.",
)
@monthly_option("The authority submits monthly.")
@verbose_option
def measures(
    file: str,
    previous: str | None,
    population: str | None,
    mapping_path: str | None,
    threshold: float,
    fmt: str,
    records_csv: str | None,
    monthly: bool,
) -> None:
    """The measures DHSC will publish from a CLD FILE (ASCOF 2A, 2B/2C, 2E, 3D, the waiting
    times), each with its numerator, denominator (or median) and the records behind it,
    computed as DHSC's SQL does.

    Exit status: 0, 2 a file cannot be read.
    """

    mapping = load_mapping(mapping_path) if mapping_path else None
    figures_of, which = chosen_population(population, mapping)
    if which:
        click.echo(which, err=True)
    people = figures_of.by_band if figures_of else None
    current = _preview_file(file, monthly, stated_when_underived=True)
    figures = national_measures(current, people)
    movements = None
    if previous:
        before = national_measures(_preview_file(previous, monthly, True), people)
        movements = compare_measures(figures, before, threshold)
    method = measures_method()
    not_computable = {**method["not_computable"], **method["not_yet"]}
    if fmt == "json":
        click.echo(json.dumps(measures_json(figures, not_computable, movements), indent=2))
    else:
        if current.period.start is None:
            click.echo(
                "DHSC derives no reporting period from this file and would not select it; the "
                "measures below are over the stated period."
            )
        click.echo(measures_text(figures, not_computable, movements), nl=False)
    if records_csv:
        what = "Records behind each figure"
        write_extra_csv(records_csv_text(figures), records_csv, what, fmt == "json")
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
