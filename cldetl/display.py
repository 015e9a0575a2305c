"""Making any text safe to show on a console or in an error message.

Values come from files and databases that cldetl does not control: a cell may hold Rich markup
(`[/]` crashes Rich), terminal control sequences (an escape code can clear the screen or retitle
the window) or a megabyte of text. Everything cldetl shows that it did not write itself goes
through `shown` first; whether a value may be shown at all (personal fields never) is decided by
the caller.
"""

from __future__ import annotations

import re

MAX_SHOWN = 60

# C0 and C1 control characters, DEL, and the Unicode bidirectional overrides that can reorder
# what a terminal displays.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """`value` as printable text: control characters as `\\xNN`, Rich markup escaped, at most
    `limit` characters (then an ellipsis with the full length)."""
    from rich.markup import escape

    text = "" if value is None else str(value)
    length = len(text)
    if length > limit:
        text = text[:limit]
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = escape(text)
    if length > limit:
        text += f"... ({length:,} characters)"
    return text
