"""Commands for writing and checking an authority's mapping: init-mapping, profile,
test-mapping, mapping-docs.

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
from cldetl.onboarding import profile_mapping, profile_text, starter_mapping, unchecked_suggestions
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
    connectors_dir: Path | None,
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
        period_end=period_end,
        connectors_dir=connectors_dir,
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


@click.command()
@mapping_option
@period_end_option
@connectors_option
@verbose_option
def profile(mapping_path: str, period_end: date | None, connectors_dir: Path | None) -> None:
    """Profile a mapping's lookups against its database: for each lookup column, the codes
    present, their counts, and which the mapping does not map.

    Exit status: 0 every code is mapped, 1 some are not, 2 the mapping or database is unusable.
    """

    mapping, found = profile_mapping(mapping_path, period_end, connectors_dir)
    click.echo(profile_text(mapping, found))
    marked = unchecked_suggestions(mapping_path)
    if marked:
        click.echo(
            f"{marked} value(s) still marked '# suggested: check' in {shown(mapping_path)}: "
            "check each, then delete its mark."
        )
    sys.exit(EXIT_DATA_ERRORS if (~found["mapped"]).any() else EXIT_OK)
