"""The marks a starter mapping carries until a person has checked it, and the refusal to run
a mapping that still has any.

init-mapping writes a value as active only when it is certain; everything else carries a mark:
`# TODO: ...` where nothing was found, `# unchecked ...` where a suggestion waits for review
(a lookup code commented out with its candidates, or a template parameter still naming the
example's code with the install's likely code beside it). The review (`mapping-review
--apply`, or a person editing the file) removes each mark as it is decided. A production run
refuses a mapping with marks left (`refuse_unchecked`); `--trial` runs it anyway, marked as
a trial in every output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from cldetl.errors import CldetlError

MARK = re.compile(r"(?:^|\s)#\s*(TODO:|unchecked\b)")
"""A mark: a comment that starts with `TODO:` or `unchecked` (text quoting a mark, as the
starter's header does, is not one)."""


@dataclass(frozen=True)
class Mark:
    line: int
    kind: str  # "todo" | "unchecked"


class UncheckedMappingError(CldetlError):
    """A production run of a mapping whose starter marks are not all resolved (exit 2)."""

    exit_code = 2


def marks_in(text: str) -> list[Mark]:
    """Every mark of a mapping's text, by line (1-based)."""

    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = MARK.search(line)
        if match:
            found.append(Mark(number, "todo" if match.group(1) == "TODO:" else "unchecked"))
    return found


def mapping_marks(mapping_path: str | Path) -> list[Mark]:
    """The marks of a mapping file; none when it cannot be read (loading it says why)."""
    try:
        text = Path(mapping_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return marks_in(text)


def refuse_unchecked(mapping_path: str | Path) -> None:
    """Raise UncheckedMappingError when the mapping still has TODO or unchecked marks."""

    marks = mapping_marks(mapping_path)
    if not marks:
        return
    todo = sum(m.kind == "todo" for m in marks)
    unchecked = len(marks) - todo
    lines = ", ".join(str(m.line) for m in marks[:8]) + (" ..." if len(marks) > 8 else "")
    raise UncheckedMappingError(
        f"{mapping_path}: not checked yet: {todo} TODO(s) and {unchecked} unchecked "
        f"suggestion(s) (lines {lines}). Review them (`cldetl mapping-review`, then "
        "`cldetl mapping-review --apply`), or run with --trial for a run marked as a trial."
    )


REVIEWED_UNMAPPED = re.compile(r"^\s*#\s*(?P<code>.+?): left unmapped on review \(")


def lookup_lines(text: str):
    """(line number, lookup name, line) of each line inside a lookup of the `lookups` section,
    where the starter and the review write their comment marks."""
    section = lookup = None
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^[A-Za-z_]", line):
            section = line.split(":", 1)[0]
            continue
        if section != "lookups":
            continue
        key = re.match(r"^  ([^\s#].*?):\s*(#.*)?$", line)
        if key:
            lookup = str(yaml.safe_load(key.group(1)))
            continue
        if lookup is not None:
            yield number, lookup, line


def reviewed_unmapped(text: str) -> set[tuple[str, str]]:
    """(lookup, code) of each code a review decided to leave unmapped: `mapping-review
    --apply` writes `# <code>: left unmapped on review (<who>, <date>)` in its lookup. Still
    reported as unmapped by every run, but decided, so no longer a question for the gate."""

    found = set()
    for _number, lookup, line in lookup_lines(text):
        match = REVIEWED_UNMAPPED.match(line)
        if match:
            try:
                code = yaml.safe_load(match.group("code"))
            except yaml.YAMLError:
                continue
            found.add((lookup, str(code)))
    return found
