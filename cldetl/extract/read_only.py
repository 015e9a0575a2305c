"""The read-only guard on rendered SQL: one SELECT or WITH statement, and none of the words that
can change a database from inside one."""

from __future__ import annotations

import re

# Words that can change a database from inside one SELECT or WITH statement (data-modifying
# WITH on PostgreSQL, SELECT INTO, procedures): none may appear outside quoted names and
# comments.
_WRITING = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "REPLACE INTO",
    "INTO",
    "DROP",
    "CREATE",
    "ALTER",
    "TRUNCATE",
    "GRANT",
    "REVOKE",
    "EXEC",
    "EXECUTE",
    "CALL",
    "ATTACH",
    "DETACH",
    "PRAGMA",
)
_WRITING_PATTERN = re.compile(
    r"\b(" + "|".join(w.replace(" ", r"\s+") for w in _WRITING) + r")\b", re.IGNORECASE
)
_QUOTED_OR_COMMENT = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|`[^`]*`", re.DOTALL
)


def read_only_problem(sql: str) -> str | None:
    """Why `sql` is not one read-only query (SELECT or WITH ... SELECT), or None when it is.

    Checked on the rendered text before anything is sent: comments, quoted names and
    literals are set aside, then the text must be one statement starting with SELECT or
    WITH, with no word that writes or changes the session (a second guard after the
    read-only connection)."""
    bare = _QUOTED_OR_COMMENT.sub(" ", sql).strip()
    bare = bare.rstrip().rstrip(";").strip()
    if not bare:
        return "it is empty"
    if ";" in bare:
        return "it holds more than one statement (a ';' inside)"
    first = bare.split(None, 1)[0].upper().lstrip("(")
    if first not in ("SELECT", "WITH"):
        return f"it starts with {first[:20]}, not SELECT or WITH"
    found = _WRITING_PATTERN.search(bare)
    if found:
        return f"it contains {' '.join(found.group(1).split()).upper()}"
    return None
