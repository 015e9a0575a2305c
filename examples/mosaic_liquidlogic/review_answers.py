"""A practice lead's answers for the onboarding walkthrough (docs/onboarding.md): fill in a
`cldetl mapping-review` workbook from a mapping that already says what each code means.

In real life a person fills the workbook in, in Excel. The walkthrough's fictional authority is
laid out as Northfen, whose mapping was written by hand (mappings/northfen.yaml), so its
answers are taken from there: each lookup code's CLD value (or "(unmapped)" where Northfen
leaves it unmapped on purpose), and each marked parameter or rule code's value at the same
place in Northfen's mapping.

    python -m examples.mosaic_liquidlogic.review_answers BOOK.xlsx --answers northfen

`--answers` is a mapping file, or the name of an example mapping shipped with cldetl.
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import yaml

from cldetl.onboarding.reference import read_reference
from cldetl.onboarding.review import CODES_SHEET, LEAVE_UNMAPPED, MARKS_SHEET

CHECKED_BY = "Practice lead (walkthrough)"


def at_path(data: Any, where: str) -> Any:
    """The value at a review workbook's `where` (sources.steps.params.values.x, events[3]...)."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return data


def fill(book_path: Path, answers: dict) -> int:
    book = openpyxl.load_workbook(book_path)
    filled = 0
    sheet = book[CODES_SHEET]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=False))
        if cells["status"].value == "checked":
            continue
        lookup = answers["lookups"].get(cells["lookup"].value) or {}
        values = {str(k): v for k, v in (lookup.get("values") or {}).items()}
        cells["CLD value"].value = values.get(str(cells["code"].value)) or LEAVE_UNMAPPED
        cells["checked by"].value, cells["date"].value = CHECKED_BY, date.today()
        filled += 1
    sheet = book[MARKS_SHEET]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=False))
        try:
            cells["decision"].value = str(at_path(answers, cells["where"].value))
        except (KeyError, IndexError, TypeError):
            continue  # not a place the answers know: left for a person
        cells["checked by"].value, cells["date"].value = CHECKED_BY, date.today()
        filled += 1
    book.save(book_path)
    return filled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", type=Path)
    parser.add_argument("--answers", required=True)
    args = parser.parse_args(argv)
    path = Path(args.answers)
    if path.is_file():
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        answers = read_reference(f"{args.answers}.yaml")[1]
    print(f"{fill(args.book, answers)} row(s) filled in {args.book}")


if __name__ == "__main__":
    main()
