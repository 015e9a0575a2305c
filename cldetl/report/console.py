"""Showing a validation report: a console summary grouped by rule, or JSON.

The console is often copied into tickets and chat, so values of personal fields (names, NHS
numbers, dates of birth and death, postcodes) are never printed there; the JSON report, which
the analyst asked for, carries every value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cldetl.display import _CONTROL, MAX_SHOWN
from cldetl.spec import Spec

if TYPE_CHECKING:
    from rich.console import Console

    from cldetl.validate.findings import ValidationReport

HIDDEN = "(personal data, not shown)"
MESSAGE_LIMIT = 400


def report_json(report: ValidationReport) -> str:
    return json.dumps(report.to_json_dict(), indent=2, ensure_ascii=False)


def console_safe(spec: Spec, column: str | None) -> bool:
    """Values of coded fields may be shown; personal fields, free text and identifiers not."""
    if not column or not spec.has_field(column):
        return False
    field = spec.field(column)
    return not field.personal and field.type in ("defined_list", "integer", "numeric", "date")


def print_report(report: ValidationReport, spec: Spec, console: Console, examples: int = 3) -> None:
    from rich.table import Table
    from rich.text import Text

    verdict = (
        Text(f"{report.errors} error(s)", style="bold red")
        if report.errors
        else Text("no errors", style="bold green")
    )
    console.print(
        Text(f"{_plain(report.file, 200)}: {report.rows} rows, ", style="bold")
        + verdict
        + Text(f", {report.warnings} warning(s)")
    )
    if report.findings.empty:
        console.print("The file meets the Release 2 specification.")
    findings = report.findings
    for rule, severity, count in report.by_rule().itertuples(index=False, name=None):
        meta = spec.rules[rule]
        style = "red" if severity == "error" else "yellow"
        console.print()
        console.print(
            Text(f"{severity.upper()} ", style=f"bold {style}")
            + Text(f"{rule}", style="bold")
            + Text(f"  {count} finding(s) - {meta.title}")
        )
        console.print(Text(f"  guidance: {meta.section}", style="dim"))
        sample = findings[findings["rule"] == rule].head(examples)
        for line, column, _, _, value, message in sample.itertuples(index=False, name=None):
            where = "file" if line is None or str(line) == "<NA>" else f"line {line}"
            if column:
                where += f", {_plain(column)}"
            text = Text(f"  {where}: ", style="cyan") + Text(
                _plain(_masked_message(spec, column, value, message), MESSAGE_LIMIT)
            )
            console.print(text)
        if count > examples:
            console.print(Text(f"  ... and {count - examples} more", style="dim"))
    if report.counts:
        console.print()
        console.print(Text("Summary counts", style="bold"))
        for label, values in report.counts.items():
            table = Table(
                title=None, show_header=True, header_style="bold", box=None, pad_edge=False
            )
            table.add_column(Text(_plain(label)))
            table.add_column("rows", justify="right")
            for value, n in values.items():
                # Coded fields only (summary_counts), but as submitted: never markup.
                table.add_row(Text(_plain(value)), str(n))
            console.print(table)
            console.print()


def _plain(text: object, limit: int = MAX_SHOWN) -> str:
    """Input text as shown inside a rich Text (never parsed as markup): control characters
    escaped, at most `limit` characters."""
    length = len(str(text))
    body = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)[:limit])
    return body + (f"... ({length:,} characters)" if length > limit else "")


def _masked_message(spec: Spec, column: str | None, value: str | None, message: str) -> str:
    """Messages never embed personal values (see parsers), but make sure of it here too."""
    if value and not console_safe(spec, column):
        return message.replace(value, HIDDEN)
    if value and len(value) > MAX_SHOWN:
        # A long coded value (a megabyte in Gender) is cut inside the message.
        return message.replace(value, _plain(value))
    return message
