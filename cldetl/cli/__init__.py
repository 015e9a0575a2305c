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

No command ever prints a traceback: `CldetlGroup.main` (cldetl/cli/exit_codes.py) turns every
exception into one of the codes above.

The commands live in one module per kind of work, and every click command defined in one of
them is a `cldetl` command (`_register`): produce.py (run, run-all, sql), check.py (validate,
preview, compare, rules, spec) and onboard.py (init-mapping, profile, test-mapping,
mapping-docs). Shared options are defined once, in options.py.

Options mean the same on every command that has them (--mapping, --period-end, --connectors,
--verbose), and logs never carry row values, whatever the level. Every value from an input (a
mapping, a file, a database) that is printed goes through `cldetl.display.shown`.
"""

from __future__ import annotations

import logging
from types import ModuleType

import click

from cldetl.cli import check, onboard, produce
from cldetl.cli.exit_codes import (
    EXIT_DATA_ERRORS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNUSABLE,
    CldetlGroup,
    quiet_broken_pipes,
)

__all__ = [
    "EXIT_DATA_ERRORS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "cli",
    "main",
]


@click.group(cls=CldetlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Debug logging (never prints row values).")
@click.version_option(package_name="cldetl")
def cli(verbose: bool) -> None:
    """Produce and check the Adult Social Care Client Level Data (CLD) Release 2 return."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register(*modules: ModuleType) -> None:
    """Every click command defined in `modules` becomes a `cldetl` command, so adding one is
    writing it in its module (nothing to list here)."""
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, click.Command) and value.callback.__module__ == module.__name__:
                cli.add_command(value)


_register(produce, check, onboard)


def main() -> None:
    quiet_broken_pipes()
    cli(prog_name="cldetl")
