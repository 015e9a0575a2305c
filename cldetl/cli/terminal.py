"""The Rich console the commands print through.

On a terminal, Rich fits output to the window. Anywhere else (a scheduled task's log, `cldetl
run | tee run.log`, a CI job) it would wrap at 80 columns and break file names mid-word, so the
log would not say where the files are: there, lines are never wrapped and every path is
printed whole.
"""

from __future__ import annotations

import sys

# Wide enough for any line cldetl prints (a path is at most ~32,767 characters on Windows):
# tables take their natural width, never this.
UNWRAPPED_WIDTH = 1 << 16


def output_console(stderr: bool = False):
    """A Rich console for stdout (or stderr): fitted to the terminal, or never wrapping."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream is not None and stream.isatty():
        return Console(highlight=False, stderr=stderr)
    return Console(highlight=False, stderr=stderr, soft_wrap=True, width=UNWRAPPED_WIDTH)
