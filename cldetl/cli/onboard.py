"""Commands for writing and checking an authority's mapping: init-mapping, profile,
mapping-review, test-mapping, mapping-docs.

Each only calls library code (onboarding, mapping, transform's mapping tests) and turns the
result into output and an exit code (`cldetl.cli.exit_codes`).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from cldetl.cli.exit_codes import EXIT_DATA_ERRORS, EXIT_OK
from cldetl.cli.options import connectors_option, mapping_option, period_end_option, verbose_option
from cldetl.display import shown
from cldetl.errors import UsageError
from cldetl.mapping import load_mapping
from cldetl.mapping.docs import mapping_markdown
from cldetl.onboarding import profile_mapping, profile_text, starter_mapping
from cldetl.onboarding.review import apply_review, write_review
from cldetl.transform.mapping_tests import run_mapping_tests
from cldetl.transform.reasons import DETAILS_UNUSED, automatic_reasons


@click.command("mapping-docs")
@verbose_option
def mapping_docs() -> None:
    """Print the mapping language guide and reference (docs/mapping.md)."""

    click.echo(mapping_markdown(automatic_reasons(), DETAILS_UNUSED), nl=False)


@click.command("test-mapping")
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


@click.command("init-mapping")
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
    system: str,
    la_code: str,
    url_env: str,
    la_name: str | None,
    out_path: str | None,
    force: bool,
    period_end: date | None,
    allow_future: bool,
    connectors_dir: Path | None,
) -> None:
    """Write a starter mapping from the authority's own database: the system's sources with
    default parameters, every lookup code found (row counts as comments) with its CLD value
    where certain and its candidates otherwise, and a skeleton of mapping tests. Nothing
    uncertain is active: `cldetl profile` counts what is left to review."""

    target = Path(out_path or f"mappings/{la_code}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists: choose another --out, or --force to replace it.")
    starter = starter_mapping(
        system,
        la_code,
        url_env,
        la_name=la_name,
        period_end=period_end,
        connectors_dir=connectors_dir,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter.text, encoding="utf-8")
    click.echo(f"Wrote {target}: {len(starter.sources)} sources, {starter.lookups} lookups.")
    for name, rows in starter.sources.items():
        click.echo(f"  {name}: {rows:,} rows read")
    codes = starter.codes
    click.echo(
        f"  {codes.certain + len(codes.suggestions)} local codes found: {codes.certain} mapped "
        f"(certain), {len(codes.suggestions)} left unchecked with their candidates:"
    )
    for lookup, code, rows, hint in codes.suggestions:
        click.echo(f"    {lookup} {shown(code, 30)} ({rows:,} rows): {shown(hint.note(), 160)}")
    if starter.unchecked:
        click.echo(
            f"  {len(starter.unchecked)} example codes the database does not hold, each marked "
            "'# unchecked' with this install's likely code:"
        )
        for where in starter.unchecked:
            click.echo(f"    {shown(where, 120)}")
    if starter.todo:
        click.echo(f"  {len(starter.todo)} to do by hand (marked '# TODO' in the file):")
        for where in starter.todo:
            click.echo(f"    {shown(where, 120)}")
    click.echo(
        "Next: `cldetl mapping-review` for the sign-off workbook, then `cldetl profile` until "
        "it reports nothing left; `cldetl run` refuses the file until then."
    )


@click.command()
@mapping_option
@period_end_option
@connectors_option
@click.option(
    "--history",
    "history",
    default=None,
    type=click.Path(file_okay=False),
    help="A run output folder: rules taking 0 records show the earlier run's count.",
)
@verbose_option
def profile(
    mapping_path: str,
    period_end: date | None,
    allow_future: bool,
    connectors_dir: Path | None,
    history: str | None,
) -> None:
    """Profile a mapping against its database, as a gate: TODOs and unchecked suggestions left,
    codes the mapping does not map (per lookup, in the records its rule takes), NULL and blank
    counts per column, and sources or rules with no rows.

    Exit status: 0 nothing left to review, 1 something is, 2 the mapping or database is unusable.
    """

    found = profile_mapping(mapping_path, period_end, connectors_dir, history=history)
    click.echo(profile_text(found))
    sys.exit(EXIT_DATA_ERRORS if found.problems else EXIT_OK)


@click.command("mapping-review")
@mapping_option
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the workbook (default: <mapping>-review.xlsx beside the mapping).",
)
@click.option(
    "--apply",
    "apply_path",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="A filled-in review workbook: write its signed decisions into the mapping.",
)
@period_end_option
@connectors_option
@verbose_option
def mapping_review(
    mapping_path: str,
    out_path: str | None,
    apply_path: str | None,
    period_end: date | None,
    allow_future: bool,
    connectors_dir: Path | None,
) -> None:
    """Write the sign-off workbook of a mapping's local codes (Excel), or, with --apply, write
    the decisions of a filled-in one back into the mapping (rows with a value, "checked by"
    and "date"; comments and layout kept).

    Exit status: 0 done, 2 the mapping, database or workbook is unusable.
    """

    if apply_path:
        codes, marks = apply_review(
            mapping_path, apply_path, period_end=period_end, connectors_dir=connectors_dir
        )
        click.echo(
            f"Applied {codes} code decision(s) and {marks} parameter or rule decision(s) to "
            f"{shown(mapping_path, 300)}. Next: `cldetl profile --mapping` it."
        )
        sys.exit(EXIT_OK)
    default = Path(mapping_path).with_name(f"{Path(mapping_path).stem}-review.xlsx")
    target = Path(out_path) if out_path else default
    codes, marks = write_review(
        mapping_path, target, period_end=period_end, connectors_dir=connectors_dir
    )
    click.echo(
        f"Wrote {shown(target, 300)}: {codes} local code(s), {marks} marked parameter(s) or rule "
        "code(s). Fill in the value, 'checked by' and 'date' of each decided row, then "
        f"`cldetl mapping-review --mapping {shown(mapping_path, 300)} --apply "
        f"{shown(target, 300)}`."
    )
