"""The report's "What DHSC will see" section and the workbook's measure sheets.

Built from the national preview of the file (cldetl/national): DHSC's derived reporting period
and flags, what happens to each row (counts that add up to the file's rows), the measures
DHSC will publish with their numerators and denominators, and each measure against last
quarter's run. A run computes the preview once and hands it here (`national`); a file report
(`cldetl validate FILE --report DIR`) has it computed here. The page shows counts, and for a
measure that moved more than the threshold the first records that moved it (Event Reference
and LA person ID, cleaned and cut as the findings show them); the workbook has a sheet per
measure with every record behind it, none of them a personal field.

Figures are shown by their unit, whatever the measure ("per 100,000", "%", "days (median)"):
a new kind of figure appears without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cldetl.national.measures.output import IN_NO_FIGURE
from cldetl.national.measures.result import OPTIONAL_RECORD_COLUMNS, RECORD_COLUMNS
from cldetl.national.method import national_method
from cldetl.national.population import WHERE_TO_PUT_IT
from cldetl.national.run_files import LastQuarter, NationalRun, national_run
from cldetl.report.findings import IDENTIFIER_CHARS, clean_text
from cldetl.report.workbook import Section
from cldetl.validate.csvfile import CldTable
from cldetl.validate.findings import ValidationReport

# Excel: at most 31 characters, none of []:*?/\ in a sheet name.
SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
MOVED_SHOWN = 10  # records that moved a figure listed on the page (all are in the workbook)
NOW_NOT_BEFORE = "counted now, not last quarter"
BEFORE_NOT_NOW = "counted last quarter, not now"
FILE_ALONE = (
    "No earlier run to compare with: this is a report of a file alone. `cldetl run` compares "
    "each run's measures with last quarter's run in its output folder, and `cldetl measures "
    "FILE --previous FILE` compares two files."
)


@dataclass
class NationalSection:
    """What the template and the workbook show."""

    page: dict[str, Any]
    summary_tables: list[tuple[str, list[str], list[list[Any]]]]
    sheets: list[tuple[str, list[str], Iterable[list[Any]]]]

    def sections(self) -> tuple[Section, ...]:
        """The workbook's sheets: each row's fate, the measures, then one per measure."""
        titles = {
            "What DHSC will see: each row's fate": "DHSC fates",
            "What DHSC will see: measures": "DHSC measures",
        }
        return tuple(
            Section(titles.get(title, title), columns, rows)
            for title, columns, rows in [*self.summary_tables, *self.sheets]
        )


def _date(d) -> str:
    return d.strftime("%d/%m/%Y") if d else "none"


def _value(f) -> str:
    """A figure's value by its unit: a rate needs a population, a share is a percentage, any
    other unit (median days) follows the number."""
    if f.value is None:
        return "no rate: no population given" if f.unit.startswith("per") else "-"
    return f"{f.value}%" if f.unit == "%" else f"{f.value} {f.unit}"


def _level(f) -> str:
    """What is compared: the value, or the count when the figure has no value."""
    return str(f.numerator) if f.value is None else _value(f)


def _identifiers(records: pd.DataFrame) -> list[str]:
    """'Event Reference (LA person ID)' of the first records, cleaned and cut."""
    head = records.head(MOVED_SHOWN)
    events = clean_text(head["event_reference"].astype(object), IDENTIFIER_CHARS)
    people = clean_text(head["la_person"].astype(object), IDENTIFIER_CHARS)
    return [f"{e} ({p})" if p else e for e, p in zip(events, people, strict=True)]


def _last_quarter(last: LastQuarter | None) -> dict[str, Any] | None:
    """The page's comparison: a row per figure, and the records that moved each flagged one."""
    if last is None:
        return {"note": FILE_ALONE, "compared": False, "rows": [], "moved": []}
    out: dict[str, Any] = {"note": last.note, "threshold": f"{last.threshold:g}%", "rows": []}
    out["moved"] = []
    for m in last.movements or []:
        change = "-" if m.change_percent is None else f"{m.change_percent:+}%"
        then = "not published" if m.previous is None else _level(m.previous)
        flag = "moved more than the threshold" if m.flagged else ""
        out["rows"].append([m.figure.measure, m.figure.group, _level(m.figure), then, change, flag])
        if m.flagged:
            out["moved"].append(
                {
                    "figure": f"{m.figure.measure} ({m.figure.group})",
                    "joined": _identifiers(m.joined),
                    "joined_count": len(m.joined),
                    "left": _identifiers(m.left),
                    "left_count": len(m.left),
                }
            )
    out["compared"] = last.movements is not None
    return out


SHEET_CHUNK = 50_000  # records turned into cells at a time


class _MeasureRows:
    """A measure sheet's rows, made as the workbook writes them: one figure's records at a
    time, a chunk of rows at a time, so the report never holds every measure's records as
    Python lists (issue 19 point 9: `validate --report` within validate's memory). With last
    quarter's run, a column says how each record moved, and a row follows for each record
    counted then and not now."""

    def __init__(self, figure, movement, unplaced: bool = False) -> None:
        self.figure, self.movement, self.unplaced = figure, movement, unplaced

    def __iter__(self) -> Iterator[list[Any]]:
        m = self.movement
        joined = (
            set(zip(m.joined["event_reference"], m.joined["la_person"], strict=True))
            if m is not None
            else set()
        )
        columns = list(RECORD_COLUMNS)
        for chunk in self.figure.record_chunks(SHEET_CHUNK, self.unplaced):
            columns = list(chunk.columns)
            counted, event, person = (columns.index(c) for c in ("counted", "event_reference",
                                                                  "la_person"))  # fmt: skip
            rows = chunk.astype(object).where(chunk.notna(), "").values.tolist()
            if m is not None:
                for row in rows:
                    moved = bool(row[counted]) and (str(row[event]), str(row[person])) in joined
                    row.append(NOW_NOT_BEFORE if moved else "")
            yield from rows
        if m is not None:
            for before_event, before_person in m.left.itertuples(index=False, name=None):
                cells = {"event_reference": before_event, "la_person": before_person,
                         "counted": False}  # fmt: skip
                yield [*(cells.get(c, "") for c in columns), BEFORE_NOT_NOW]


def _sheet_rows(f, movement) -> tuple[list[str], _MeasureRows]:
    """A measure's sheet: its header and its rows (made as they are written)."""
    columns = [*RECORD_COLUMNS, *(c for c in OPTIONAL_RECORD_COLUMNS if c in f.behind.columns)]
    if movement is None:
        return columns, _MeasureRows(f, None)
    was = "not published" if movement.previous is None else _level(movement.previous)
    return [*columns, f"since last quarter (then {was})"], _MeasureRows(f, movement)


def national_section(
    table: CldTable | str | Path, report: ValidationReport, national: NationalRun | None = None
) -> NationalSection:
    """The section for a validated file: of the run's national preview when given (computed
    once per run by the pipeline), else of the file, read already or given by its path (then
    read batch by batch)."""
    run: NationalRun = national if national is not None else national_run(table, report)
    p, labels = run.preview, national_method()["fates"]
    period = p.period
    fates = [[labels[k], int(n)] for k, n in p.fate_counts.items() if n]
    fates.append(["All rows", int(p.fate_counts.sum())])
    figures = [
        [f.measure, f.group, f.numerator, "-" if f.denominator is None else f.denominator,
         _value(f)]
        for f in run.figures
    ]  # fmt: skip
    rated = [f for f in run.figures if f.unit.startswith("per")]
    last = run.last_quarter
    movements = (
        {(m.figure.measure, m.figure.group): m for m in (last.movements or [])} if last else {}
    )
    page = {
        "stated": f"{_date(period.stated_start)} to {_date(period.stated_end)}",
        "derived": f"{_date(period.start)} to {_date(period.end)}",
        "matches": period.matches,
        "gap_flag": period.gap_flag,
        "missing_type_flag": period.missing_type_flag,
        "by_type": [
            [t.event_type, t.total, f"{_date(t.start)} to {_date(t.end)}", "yes" if t.gap else ""]
            for t in period.by_type
        ],
        "fates": fates,
        "figures": figures,
        "over_stated": run.stated,
        "not_computable": list(run.not_computable.items()),
        "warnings": [m for _, m in p.warnings],
        "population": run.population.source if run.population else None,
        "population_note": WHERE_TO_PUT_IT if rated and run.population is None else None,
        "last_quarter": _last_quarter(last),
    }
    sheets = []
    for f in run.figures:
        name = SHEET_NAME.sub(" ", f"{f.measure} {f.group}")[:31]
        movement = movements.get((f.measure, f.group))
        columns, rows = _sheet_rows(f, movement)
        sheets.append((name, columns, rows))
        if f.unplaced is not None:
            # The measure's records in none of its figures: one sheet, once per measure.
            name = SHEET_NAME.sub(" ", f"{f.measure} {IN_NO_FIGURE}")[:31].rstrip()
            sheets.append((name, columns[: len(columns) - (movement is not None)],
                           _MeasureRows(f, None, unplaced=True)))  # fmt: skip
    measure_columns = ["Measure", "Group", "Numerator", "Denominator", "Value"]
    if last is not None and last.movements is not None:
        measure_columns += ["Last quarter", "Change", "Moved more than the threshold"]
        figures = [[*row, *movements_row(movements.get((row[0], row[1])))] for row in figures]
    summary_tables = [
        ("What DHSC will see: each row's fate", ["Fate", "Rows"], fates),
        ("What DHSC will see: measures", measure_columns, figures),
    ]
    return NationalSection(page=page, summary_tables=summary_tables, sheets=sheets)


def movements_row(m) -> list[Any]:
    """Last quarter's level, the change and the flag, for the workbook's measures sheet."""
    if m is None or m.previous is None:
        return ["not published", "", ""]
    change = "" if m.change_percent is None else m.change_percent
    return [_level(m.previous), change, "yes" if m.flagged else ""]
