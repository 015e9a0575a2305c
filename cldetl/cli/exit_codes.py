"""The exit-code contract every `cldetl` command keeps (the package docstring lists the codes),
and quiet broken pipes (`cldetl validate ... | head`).

`CldetlGroup` is the click group class: it turns every exception into one exit code and a short
message on stderr, so no command ever prints a traceback, whatever goes wrong inside it.
"""

from __future__ import annotations

import os
import sys

import click

from cldetl.cli.crash_report import save_crash_report
from cldetl.display import shown
from cldetl.errors import CldetlError

EXIT_OK, EXIT_DATA_ERRORS, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in cldetl; a crash report was saved
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class CldetlGroup(click.Group):
    """The error contract (module docstring): every exception ends in exit 1, 2, 70 or 130 with
    a short message on stderr, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CldetlError as exc:
            if exc.exit_code == EXIT_INTERNAL:
                raise  # a bug: `main` saves a crash report
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's `main` without its standalone handling (which prints 'Aborted!' and lets
        other exceptions through as tracebacks), then one exit code for whatever happened."""
        arguments = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(arguments, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - the contract covers every exception
            code = self._exit_code_for(exc, arguments)
        sys.exit(code if isinstance(code, int) else EXIT_OK)

    def _exit_code_for(self, exc: BaseException, arguments: list[str]) -> int:
        if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(exc, click.ClickException):
            # click's usage errors (unknown option, bad value, missing argument) and file
            # errors: wrong use or unusable input, never "data errors found".
            exc.show()
            return EXIT_UNUSABLE
        if isinstance(exc, CldetlError) and exc.exit_code != EXIT_INTERNAL:
            click.echo(f"Error: {exc}", err=True)
            return exc.exit_code
        if isinstance(exc, MemoryError):
            click.echo(
                "Error: out of memory. The input is larger than this machine can hold: run "
                "on a machine with more memory, or check the input is the file you meant.",
                err=True,
            )
            return EXIT_UNUSABLE
        if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
            # The environment refused (full disk, read-only folder, permission): say what and
            # where; the file name is cldetl's or the user's path, never a row value.
            where = f": {shown(exc.filename, limit=300)}" if exc.filename else ""
            click.echo(f"Error: {shown(exc.strerror, limit=200)}{where}", err=True)
            return EXIT_UNUSABLE
        return self._internal_error(exc, arguments)

    def _internal_error(self, exc: BaseException, arguments: list[str]) -> int:
        command = next((a for a in arguments if a in self.commands), "")
        path = save_crash_report(exc, command)
        where = (
            f"crash report (no data values) saved to {path}; please send it to the maintainers"
            if path
            else "no crash report could be saved (no writable private folder)"
        )
        # An InternalError's message is cldetl's own words (counts, names), so it is shown;
        # any other exception's message may hold a value and is not.
        said = " " + " ".join(str(exc).split()) if isinstance(exc, CldetlError) else ""
        click.echo(
            f"Internal error in cldetl ({type(exc).__name__}), exit {EXIT_INTERNAL}:{said} "
            f"{where}.",
            err=True,
        )
        return EXIT_INTERNAL


class PipeSafe:
    """stdout that, once its reader has gone (`cldetl validate ... | head`), drops further
    output instead of raising BrokenPipeError: the command still finishes its work (a report
    it was asked to write) and exits with its own code, quietly."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._gone = False

    def _reader_gone(self) -> None:
        self._gone = True
        try:  # later writes, and the interpreter's final flush, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text):
        if self._gone:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        if self._gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def quiet_broken_pipes() -> None:
    """Wrap sys.stdout in `PipeSafe` (once)."""
    if sys.stdout is not None and not isinstance(sys.stdout, PipeSafe):
        sys.stdout = PipeSafe(sys.stdout)
