"""Per row, the text of the first condition that holds: SQL's CASE WHEN ... THEN 'text'.

np.select would do it, but over texts it makes a fixed-width text array as wide as the longest
text (four bytes a character a row: a reason of 90 characters costs 360 bytes a row, 90 MB a
quarter of a million rows). Here each row holds a reference to one shared Python string.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_that_holds(conditions: Sequence, choices: Sequence, default) -> np.ndarray:
    """An object array: for each row, the choice of the first condition true there, else the
    default. A choice or the default is one text for every row or an array of one a row."""
    if not conditions:
        raise ValueError("first_that_holds needs at least one condition")
    out = np.empty(len(conditions[0]), dtype=object)
    out[:] = np.asarray(default, dtype=object) if np.ndim(default) else default
    for condition, choice in reversed(list(zip(conditions, choices, strict=True))):
        rows = np.asarray(condition, dtype=bool)
        out[rows] = np.asarray(choice, dtype=object)[rows] if np.ndim(choice) else choice
    return out
