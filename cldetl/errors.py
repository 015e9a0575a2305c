"""The exceptions cldetl raises when it cannot go on (findings in data are values, not these).

    CldetlError                 root; the CLI prints its message, no traceback
    ├── UsageError              wrong command-line use                      exit 2
    ├── InputError              a file or source cannot be read as CLD      exit 2
    ├── SpecError               the specification data file is inconsistent  exit 2
    └── InternalError           a check of cldetl's own work failed (a bug)  exit 70

Every message says what is wrong, where (file, line, key or column) and what would fix it.
Any other exception reaching the CLI is a bug too: it exits 70 and leaves a crash report
(`cldetl.cli.crash_report`), never a traceback; see `cldetl.cli` for the whole exit-code contract.
"""

from __future__ import annotations


class CldetlError(Exception):
    """Root of cldetl's fatal errors."""

    exit_code = 2
    # True for a fault that may pass by itself (a refused or dropped connection during a
    # maintenance window, a timeout, a deadlock): schedulers retry these, and only these.
    transient = False


class UsageError(CldetlError):
    """The command was called wrongly (a bad option value, a missing argument)."""


class InputError(CldetlError):
    """An input file cannot be used: unreadable encoding, empty, wrong delimiter, ragged rows."""


class SpecError(CldetlError):
    """The specification data file contradicts itself (a bug in cldetl, not in the user's data)."""


class InternalError(CldetlError):
    """cldetl caught itself doing something wrong (counts that do not reconcile): a bug, whose
    message holds counts and names, never values. The CLI adds a crash report."""

    exit_code = 70  # EX_SOFTWARE
