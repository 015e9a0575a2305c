"""Options that several commands share, defined once so that they mean the same everywhere
(name, type, default and help): --mapping, --period-end, --connectors, --verbose, --format and
the output options of `run` and `run-all`.

--period-end is parsed here, by `cldetl.spec.period.parse_period_end` (the one parser of a
period end), so a command receives a `date` or None; --connectors arrives as a `Path` or None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import click

from cldetl.publish.write import write_text
from cldetl.spec.period import parse_period_end, refuse_future

Decorator = Callable[[Callable], Callable]


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
    """`--mapping`, required: the authority's mapping file."""
    return click.option(
        "--mapping",
        "mapping_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="The authority's mapping file (mappings/<la>.yaml).",
    )(command)


def _period_end(ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    end = parse_period_end(value)
    if not ctx.params.get("allow_future"):  # --allow-future is eager: already parsed
        refuse_future(end, date.today())
    return end


def period_end_option(command):
    """`--period-end`, passed to the command as a `date` (None: the default period), and
    `--allow-future` (passed as `allow_future`), without which a period end after today is
    refused."""
    command = click.option(
        "--allow-future",
        is_flag=True,
        is_eager=True,
        help="Allow a --period-end after today (a test run: the return misses months that "
        "have not happened).",
    )(command)
    return click.option(
        "--period-end",
        callback=_period_end,
        help="Last day of the 12-month reporting period, as 30/09/2025 or 2025-09-30 "
        "(default: the last completed quarter, or month for monthly submitters).",
    )(command)


def connectors_option(command):
    """`--connectors`, passed as a `Path` (None: the packaged templates, or connectors/ beside
    the mapping)."""
    return click.option(
        "--connectors",
        "connectors_dir",
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of extract templates that override the packaged ones (default: a connectors/ "
        "folder beside the mapping or its folder, if any).",
    )(command)


def format_option(choices: Sequence[str], help: str) -> Decorator:  # noqa: A002 - click's name
    """`--format`, passed as `fmt`; the first choice is the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def out_dir_option(default: str | None, help: str) -> Decorator:  # noqa: A002
    """`--out` for a command that writes a folder of files, passed as `out_dir`."""
    return click.option(
        "--out",
        "out_dir",
        default=default,
        show_default=default is not None,
        type=click.Path(file_okay=False),
        help=help,
    )


def html_report_option(help: str) -> Decorator:  # noqa: A002
    """`--report` as a flag (write the HTML report beside the return), passed as `html_report`."""
    return click.option("--report", "html_report", is_flag=True, help=help)


def technical_appendix_option(help: str) -> Decorator:  # noqa: A002
    """`--technical-appendix`: the Great Expectations cross-check in the report."""
    return click.option("--technical-appendix", is_flag=True, help=help)


def monthly_option(help: str) -> Decorator:  # noqa: A002
    """`--monthly`: the authority submits monthly."""
    return click.option("--monthly", is_flag=True, help=help)


def csv_file_option(flag: str, help: str) -> Decorator:  # noqa: A002
    """An optional extra CSV file a command also writes (`--quality-csv`, `--fates-csv`, ...)."""
    return click.option(flag, type=click.Path(dir_okay=False, path_type=str), help=help)


def write_extra_csv(text: str, path: str, what: str, to_stderr: bool) -> None:
    """Write an extra CSV a command was asked for, and say where (on stderr when stdout is
    JSON for a program)."""
    write_text(text, Path(path))
    click.echo(f"{what}: {path}", err=to_stderr)
