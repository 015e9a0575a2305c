"""A CLD value for a lookup's local code: certain, or a list of scored candidates for a person.

Certain means one of three things: the code spells a CLD value ("Female"), the example
authority maps the very same code, or the code is in a national list the whole column fits
(code_lists). Anything else is a text match, and text matches are wrong as often as right
(`A` is not "Asian or Asian British: Indian"; `GP` is not "Prison"), so they are never written
as values: the starter lists them, best first with their scores, for the review to decide.
One list feeds both the note in the file and the console summary.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Suggestion:
    """What the starter writes for one code: `value` only when `certain`."""

    value: str | None
    how: str
    certain: bool = False
    candidates: list[tuple[str, float]] = field(default_factory=list)

    def note(self) -> str:
        """The candidates in words, best first: the same text in the file and on the console."""
        if self.certain:
            return self.how
        if not self.candidates:
            return self.how
        listed = "; ".join(f'"{value}" {score:.2f}' for value, score in self.candidates)
        return f"{self.how}: {listed}"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def score(code: str, value: str) -> float:
    """How alike a code's text and a CLD value's are, 0 to 1: the sequence ratio, raised when
    the code starts one of the value's words ("Fem" for Female)."""
    norm, target = _norm(code), _norm(value)
    ratio = difflib.SequenceMatcher(None, norm, target).ratio()
    if norm and any(w.startswith(norm) for w in target.split()):
        ratio = max(ratio, 0.7 if len(norm) > 1 else 0.61)
    return ratio


def suggest(
    code: str,
    allowed: tuple[str, ...],
    example: dict[str, Any],
    *,
    good_match: float,
    shown: int,
    national: dict[str, str] | None = None,
    national_source: str = "",
) -> Suggestion:
    """The CLD value for a local code if certain, else the closest candidates by text."""

    if national and code in national:
        return Suggestion(national[code], f"national list ({national_source})", certain=True)
    norm = _norm(code)
    for value in allowed:
        if _norm(value) == norm:
            return Suggestion(value, "spells a CLD value", certain=True)
    if code in example:
        return Suggestion(example[code], "as the example authority maps the same code", True)
    if not allowed:
        return Suggestion(None, "no defined list: fill in the value")
    scored = sorted(((score(code, v), v) for v in allowed), key=lambda s: (-s[0], s[1]))
    best = [(value, round(s, 2)) for s, value in scored[:shown] if s > 0]
    if not best:
        return Suggestion(None, "no candidate: fill in the value")
    how = "text match" if best[0][1] >= good_match else "weak text match"
    return Suggestion(None, how, certain=False, candidates=best)
