"""`cldetl mapping-review`: the sign-off workbook, and its decisions written back to the YAML.

Practice leads decide what a local code means, in Excel, not in YAML. The workbook lists every
local code the database holds for each lookup (source, column, code, rows, the CLD value or
the candidates, status checked / suggested / unmapped) and every template parameter or rule
code still marked, each with empty "decision", "checked by" and "date" columns. `--apply`
writes each row that has all three back into the mapping through ruamel.yaml's round trip
(comments and layout kept), removes its `# unchecked` mark, loads the file back to check it
says what the workbook said, and refuses a workbook whose codes no longer match the database
(codes that came or went since it was written would be signed off unseen).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from cldetl.mapping import load_mapping, safe_yaml
from cldetl.onboarding import yaml_text
from cldetl.onboarding.marks import lookup_lines, reviewed_unmapped
from cldetl.onboarding.profile import profile_mapping
from cldetl.onboarding.reference import OnboardingError, thresholds
from cldetl.spec import load_spec

CODES_SHEET = "Local codes"
MARKS_SHEET = "Parameters and rules"
CODE_COLUMNS = [
    "lookup", "field", "source", "column", "code", "rows", "status", "CLD value",
    "suggestions", "checked by", "date",
]  # fmt: skip
MARK_COLUMNS = ["where", "current value", "note", "decision", "checked by", "date"]
UNCHECKED_LINE = re.compile(
    r"^\s*#\s*unchecked (?P<code>'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"|[^:]+?): (?P<note>.*)$"
)
MARK_NOTE = re.compile(r"^#\s*(TODO:|unchecked\b)")
FORMULA_START = ("=", "+", "-", "@")
LEAVE_UNMAPPED = "(unmapped)"
"""A review decision that a code stays unmapped on purpose (reported, the default used)."""


@dataclass
class LookupSuggestion:
    lookup: str
    code: str
    note: str
    line: int


def lookup_suggestions(text: str) -> dict[tuple[str, str], LookupSuggestion]:
    """The `# unchecked <code>: ...` lines of the lookups section, by (lookup, code)."""

    found: dict[tuple[str, str], LookupSuggestion] = {}
    for number, lookup, line in lookup_lines(text):
        match = UNCHECKED_LINE.match(line)
        if match:
            code = str(yaml.safe_load(match.group("code")))
            found[(lookup, code)] = LookupSuggestion(lookup, code, match.group("note"), number)
    return found


def _round_trip() -> YAML:
    rt = YAML()  # round trip: comments, order and quoting kept
    rt.width = 4096
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=2, offset=0)
    return rt


def marked_values(document: Any, path: str = "") -> list[tuple[str, Any, Any, Any, str]]:
    """Every value with an end-of-line TODO or unchecked mark: (path, parent, key, value,
    note), outside the lookups section (whose codes are rows of their own)."""

    out = []
    if isinstance(document, CommentedMap):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            if where == "lookups":
                continue
            entry = document.ca.items.get(key)
            token = entry[2] if entry and len(entry) > 2 else None
            if token is not None and MARK_NOTE.match(token.value.lstrip()):
                out.append((where, document, key, value, token.value.split("\n", 1)[0]))
            out += marked_values(value, where)
    elif isinstance(document, CommentedSeq):
        for index, value in enumerate(document):
            where = f"{path}[{index}]"
            entry = document.ca.items.get(index)
            token = entry[0] if entry else None
            if token is not None and MARK_NOTE.match(token.value.lstrip()):
                out.append((where, document, index, value, token.value.split("\n", 1)[0]))
            out += marked_values(value, where)
    return out


def _cell(value: Any) -> Any:
    """A value as a workbook cell: text that Excel would run as a formula is kept as text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_sheet(sheet: Worksheet, columns: list[str], rows: list[list[Any]]) -> None:
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def write_review(
    mapping_path: str | Path,
    book_path: str | Path,
    *,
    period_end: date | None = None,
    connectors_dir: Path | None = None,
    url: str | None = None,
) -> tuple[int, int]:
    """Write the review workbook; returns (local codes, marked parameters and rule codes)."""

    text = Path(mapping_path).read_text(encoding="utf-8")
    suggestions = lookup_suggestions(text)
    reviewed = reviewed_unmapped(text)
    profile = profile_mapping(mapping_path, period_end, connectors_dir, url)
    mapping = profile.mapping
    rows = []
    for row in profile.lookups[profile.lookups["rows"].notna()].itertuples(index=False):
        lookup = mapping.lookups[row.lookup]
        explicit = {str(k).strip(): v for k, v in lookup.values.items()}
        suggestion = suggestions.get((row.lookup, row.code))
        if row.code in explicit:
            status, value, note = "checked", explicit[row.code], ""
        elif (row.lookup, row.code) in reviewed:
            status, value, note = "checked", LEAVE_UNMAPPED, "left unmapped on review"
        elif row.mapped:
            status, value, note = "checked", row.value, "a CLD value (the lookup accepts them)"
        elif suggestion is not None:
            status, value, note = "suggested", "", suggestion.note
        else:
            status, value, note = "unmapped", "", f"not in the mapping: {row.value or 'blank'}"
        rows.append(
            [row.lookup, row.field, row.source, row.column, row.code, int(row.rows), status,
             value or "", note, "", ""]
        )  # fmt: skip
    seen = {(r[0], r[4]) for r in rows}
    for (lookup, code), suggestion in suggestions.items():
        if (lookup, code) not in seen and lookup in mapping.lookups:
            # Met by the starter's probe, not by the records the mapping reads as it stands
            # (its parameters still name the example's codes): decided all the same.
            rows.append(
                [lookup, mapping.lookups[lookup].field, "", "", code, None, "suggested", "",
                 suggestion.note, "", ""]
            )  # fmt: skip
    document = _round_trip().load(text)
    marks = [
        [where, str(value), note.removeprefix("#").strip(), "", "", ""]
        for where, _parent, _key, value, note in marked_values(document)
    ]
    book = openpyxl.Workbook()
    _write_sheet(book.active, CODE_COLUMNS, rows)
    book.active.title = CODES_SHEET
    _write_sheet(book.create_sheet(MARKS_SHEET), MARK_COLUMNS, marks)
    book.save(book_path)
    return len(rows), len(marks)


def _read_sheet(book, name: str, columns: list[str], path: Path) -> list[dict[str, Any]]:
    if name not in book.sheetnames:
        raise OnboardingError(f"{path}: no sheet '{name}': use a workbook mapping-review wrote.")
    sheet = book[name]
    header = [c.value for c in sheet[1]]
    if header[: len(columns)] != columns:
        raise OnboardingError(
            f"{path}: sheet '{name}' columns changed (expected {', '.join(columns)}): use a "
            "workbook mapping-review wrote, with its columns as they were."
        )
    out = []
    for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), 2):
        row = dict(zip(columns, values, strict=False))
        row["_line"] = number
        for key, value in row.items():
            if isinstance(value, str) and value.startswith("'") and key != "_line":
                row[key] = value[1:]
        out.append(row)
    return out


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _signed(row: dict, value_column: str) -> bool:
    return all(_filled(row.get(c)) for c in (value_column, "checked by", "date"))


def _as_text(value: str) -> str:
    """Text that the loader (YAML 1.1: `No`, `on`, `1.0`) would read as something else is
    written double-quoted; ruamel's YAML 1.2 rules would leave it plain."""
    try:
        plain = yaml.safe_load(value)
    except yaml.YAMLError:
        plain = None
    return value if plain == value else DoubleQuotedScalarString(value)


def _day(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if isinstance(value, date | datetime) else str(value)


def _without_decided(text: str, decided: dict, signed: dict) -> str:
    """The text without the `# unchecked <code>` line of each decided (lookup, code); a code
    left unmapped on purpose gets a plain comment saying so, and who decided it when."""

    lines = text.splitlines(keepends=True)
    found = {s.line: key for key, s in lookup_suggestions(text).items() if key in decided}
    out = []
    for number, line in enumerate(lines, 1):
        key = found.get(number)
        if key is None:
            out.append(line)
        elif decided[key] is None:
            indent = line[: len(line) - len(line.lstrip())]
            note = f"{yaml_text.scalar(key[1])}: left unmapped on review ({signed[key]})"
            out.append(f"{indent}# {yaml_text.comment(note)}\n")
    return "".join(out)


def apply_review(
    mapping_path: str | Path,
    book_path: str | Path,
    *,
    period_end: date | None = None,
    connectors_dir: Path | None = None,
    url: str | None = None,
) -> tuple[int, int]:
    """Write the signed rows of the workbook into the mapping; returns (codes, marks) applied.

    Raises OnboardingError when the workbook's codes no longer match the database, a decision
    is not a value of its CLD field, or a marked value is not where the workbook says."""

    path = Path(book_path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's input
        raise OnboardingError(f"{path}: not a workbook openpyxl can read ({exc}).") from None
    codes = _read_sheet(book, CODES_SHEET, CODE_COLUMNS, path)
    marks = _read_sheet(book, MARKS_SHEET, MARK_COLUMNS, path)
    book.close()

    profile = profile_mapping(mapping_path, period_end, connectors_dir, url)
    now = {
        (r.lookup, r.source, r.column, r.code)
        for r in profile.lookups[profile.lookups["rows"].notna()].itertuples(index=False)
    }
    listed = {(r["lookup"], r["source"], r["column"], str(r["code"])) for r in codes if r["source"]}
    if now != listed:
        raise OnboardingError(
            f"{path}: its codes no longer match the database ({len(now - listed)} new, "
            f"{len(listed - now)} gone since it was written): write a new workbook with "
            "`cldetl mapping-review` and review that one."
        )

    spec = load_spec()
    limit = thresholds().max_code_length
    mapping_file = Path(mapping_path)
    text = mapping_file.read_text(encoding="utf-8")
    document = _round_trip().load(text)
    decided: dict[tuple[str, str], str | None] = {}
    signed: dict[tuple[str, str], str] = {}
    for row in codes:
        if not _signed(row, "CLD value") or row["status"] == "checked":
            continue
        lookup, code, value = str(row["lookup"]), str(row["code"]), str(row["CLD value"]).strip()
        where = f"{path}: {CODES_SHEET} line {row['_line']}"
        allowed = spec.field(str(row["field"])).values
        if value != LEAVE_UNMAPPED and allowed and value not in allowed:
            raise OnboardingError(
                f"{where}: '{yaml_text.comment(value)}' is not one of the {row['field']} "
                f"values; write one exactly, or {LEAVE_UNMAPPED} to leave the code unmapped."
            )
        yaml_text.check_code(code, where, limit)
        choice = None if value == LEAVE_UNMAPPED else value
        if (lookup, code) in decided and decided[(lookup, code)] != choice:
            raise OnboardingError(f"{where}: {lookup} {code} is decided twice, differently.")
        decided[(lookup, code)] = choice
        signed[(lookup, code)] = f"{row['checked by']}, {_day(row['date'])}"
    for (lookup, code), value in decided.items():
        if value is None:
            continue
        values = document["lookups"][lookup].get("values")
        if not isinstance(values, CommentedMap):
            values = CommentedMap()
            document["lookups"][lookup]["values"] = values
        if values.fa.flow_style() and len(values) == 0:
            values.fa.set_block_style()
        values[_as_text(code)] = _as_text(value)

    by_path = {
        where: (parent, key, value) for where, parent, key, value, _ in marked_values(document)
    }
    applied_marks = []
    for row in marks:
        if not _signed(row, "decision"):
            continue
        where = str(row["where"])
        if where not in by_path:
            raise OnboardingError(
                f"{path}: {MARKS_SHEET} line {row['_line']}: {where} is no longer marked in "
                f"{mapping_file.name}: write a new workbook."
            )
        parent, key, old = by_path[where]
        new: Any = str(row["decision"]).strip()
        yaml_text.check_code(new, f"{path}: {MARKS_SHEET} line {row['_line']}", limit)
        if isinstance(old, int) and re.fullmatch(r"-?\d+", new):
            new = int(new)
        parent[key] = new if isinstance(new, int) else _as_text(new)
        entry = parent.ca.items.get(key)
        index = 2 if isinstance(parent, CommentedMap) else 0
        token = entry[index]
        rest = token.value.split("\n", 1)
        token.value = "\n" + rest[1] if len(rest) > 1 and rest[1].strip() else "\n"
        applied_marks.append((where, new))

    buffer = io.StringIO()
    _round_trip().dump(document, buffer)
    written = _without_decided(buffer.getvalue(), decided, signed)
    check = safe_yaml.load(written, str(mapping_file))
    for (lookup, code), value in decided.items():
        if (check["lookups"][lookup].get("values") or {}).get(code) != value:  # None: unmapped
            raise OnboardingError(f"{mapping_file}: {lookup} {code} did not read back (bug).")
    staged = mapping_file.with_name(f".{mapping_file.name}.review-{datetime.now():%H%M%S}")
    staged.write_text(written, encoding="utf-8")
    try:
        load_mapping(staged, connectors_dir=connectors_dir)
    except Exception:
        staged.unlink(missing_ok=True)
        raise
    staged.replace(mapping_file)
    return len(decided), len(applied_marks)
