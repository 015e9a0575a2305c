"""The read-only guard on rendered SQL: one SELECT or WITH statement, and none of the words that
can change a database from inside one.

The guard reads the SQL as the database will: comments, string literals and quoted names are
set aside by a small lexer that knows each dialect's quoting (PostgreSQL's `E'...'` strings with
backslash escapes and `$tag$...$tag$` dollar quotes, SQL Server's `[...]` names with `]]`,
SQLite's backticks), so text the database would run cannot hide inside what the guard takes
for a literal. Whatever the lexer cannot read the way every database would (a comment opened
inside a comment, an unterminated quote, Oracle's `q'[...]'` quoting, a quoting style of
another dialect) is refused, never guessed. It is the second guard: the connection itself is
read-only too (`cldetl.extract.database.create_engine`).
"""

from __future__ import annotations

import re

# Words that can change a database from inside one SELECT or WITH statement (data-modifying
# WITH on PostgreSQL, SELECT INTO, procedures): none may appear outside quoted names and
# comments.
WRITING_WORDS = (
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
    r"\b(" + "|".join(w.replace(" ", r"\s+") for w in WRITING_WORDS) + r")\b", re.IGNORECASE
)

# Where a token that is not SQL text starts. Alternatives are tried at each position in this
# order; the named group says which kind it is.
_STARTS = {
    "line_comment": r"--",
    "block_comment": r"/\*",
    "e_string": r"(?<![\w$#])[Ee]'",
    "dollar": r"(?<![\w$#])\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$",
    "q_quote": r"(?<![\w$#])[Nn]?[Qq]'",
    "string": r"'",
    "double": r'"',
    "bracket": r"\[",
    "backtick": r"`",
}
# The body of each quoted token, from just after its opening to just after its end.
_BODIES = {
    "line_comment": re.compile(r"[^\n]*"),
    "e_string": re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL),
    "string": re.compile(r"(?:[^']|'')*'"),
    "double": re.compile(r'(?:[^"]|"")*"'),
    "bracket_escaped": re.compile(r"(?:[^\]]|\]\])*\]"),
    "bracket": re.compile(r"[^\]]*\]"),
    "backtick": re.compile(r"(?:[^`]|``)*`"),
}
# Which openings each dialect reads as quoting (others are plain SQL text to it, so the guard
# reads them as text too). None: a dialect the guard does not know, which gets every opening
# and refuses the dialect-specific ones.
_DIALECT_STARTS = {
    "postgresql": ("line_comment", "block_comment", "e_string", "dollar", "string", "double"),
    "mssql": ("line_comment", "block_comment", "string", "double", "bracket"),
    "sqlite": ("line_comment", "block_comment", "string", "double", "bracket", "backtick"),
    "oracle": ("line_comment", "block_comment", "q_quote", "string", "double"),
    None: tuple(_STARTS),
}
_REFUSED = {
    "q_quote": "Oracle q'...' quoting (write a standard '...' string)",
    "e_string": "a PostgreSQL E'...' string, read differently by other databases",
    "dollar": "PostgreSQL $$ dollar quoting, read differently by other databases",
}


class _Unreadable(Exception):
    """SQL the guard cannot read the way the database would: refused."""


def _start_pattern(dialect: str | None) -> re.Pattern[str]:
    kinds = _DIALECT_STARTS[dialect]
    return re.compile("|".join(f"(?P<{kind}>{_STARTS[kind]})" for kind in kinds))


_START_PATTERNS = {dialect: _start_pattern(dialect) for dialect in _DIALECT_STARTS}


def _token_end(sql: str, kind: str, start: re.Match[str], dialect: str | None) -> int:
    """Where the token opened by `start` ends (just after it), or _Unreadable."""
    after = start.end()
    if kind in _REFUSED and (dialect is None or kind == "q_quote"):
        raise _Unreadable(f"it uses {_REFUSED[kind]}")
    if kind == "block_comment":
        close = sql.find("*/", after)
        nested = sql.find("/*", after)
        if close < 0:
            raise _Unreadable("it has a comment that is never closed (/* without */)")
        if 0 <= nested < close:
            # PostgreSQL and SQL Server nest comments, SQLite and Oracle do not: where it
            # ends depends on the database.
            raise _Unreadable("it has a comment inside a comment (/* ... /* ... */)")
        return close + 2
    if kind == "dollar":
        close = sql.find(start.group(), after)
        if close < 0:
            raise _Unreadable(f"it has a {start.group()} quote that is never closed")
        return close + len(start.group())
    if kind == "bracket":
        body = _BODIES["bracket_escaped" if dialect == "mssql" else "bracket"].match(sql, after)
        if body and dialect is None and sql.startswith("]", body.end()):
            raise _Unreadable("it has ']]' after a [name], read differently by each database")
    else:
        body = _BODIES[kind].match(sql, after)
    if body is None:
        raise _Unreadable(f"it has a quote ({start.group()}) that is never closed")
    return body.end()


def bare_sql(sql: str, dialect: str | None = None) -> str:
    """`sql` with every comment, string literal and quoted name replaced by a space, read the
    way `dialect` ("postgresql", "mssql", "sqlite", "oracle"; None: any) reads them. Raises
    ValueError (saying why) for text that cannot be read the same way the database would."""
    pattern = _START_PATTERNS[dialect if dialect in _DIALECT_STARTS else None]
    parts, position = [], 0
    while True:
        start = pattern.search(sql, position)
        if start is None:
            parts.append(sql[position:])
            return "".join(parts)
        parts.append(sql[position : start.start()])
        parts.append(" ")
        try:
            position = _token_end(sql, start.lastgroup or "", start, dialect)
        except _Unreadable as exc:
            raise ValueError(str(exc)) from None


def read_only_problem(sql: str, dialect: str | None = None) -> str | None:
    """Why `sql` is not one read-only query (SELECT or WITH ... SELECT), or None when it is.

    Checked on the rendered text before anything is sent: comments, quoted names and
    literals are set aside as `dialect` reads them, then the text must be one statement
    starting with SELECT or WITH, with no word that writes or changes the session."""
    try:
        bare = bare_sql(sql, dialect).strip()
    except ValueError as exc:
        return str(exc)
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
