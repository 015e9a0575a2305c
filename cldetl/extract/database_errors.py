"""A database's errors as clear messages: each names the source and what to check, never row
data (a driver's own message is shown only when it names tables, columns or syntax), and the
faults that may pass by themselves (a refused or dropped connection, a time-out, a lock or
deadlock) are marked `transient` for schedulers' retries."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from cldetl.errors import InputError
from cldetl.extract.database_url import _mask_text, _password, masked

# What a driver's message says, by kind (matched ignoring case): the fault it is.
_SAYS = {
    "missing_object": (
        r"no such (table|column)|invalid (object|column) name|does not exist"
        r"|ORA-00942|ORA-00904|undefined (table|column)|unknown column"
        r"|no such function"
    ),
    "syntax": (
        r"syntax error at or near|incorrect syntax near|(?<!input )syntax error"
        r"|ORA-0093[36]|ORA-00923"
    ),
    "permanent_connect": (
        r"could not translate host name|name or service not known"
        r"|nodename nor servname|no such host|getaddrinfo failed|unknown host"
        r"|password authentication failed|login failed|ORA-01017"
        r"|authentication failed|role .* does not exist"
        r"|database .* does not exist|unable to open database file"
        r"|file is not a database"
    ),
    "locked": r"database is locked|database table is locked|lock timeout|ORA-00054",
    "deadlock": r"deadlock",
    "timeout": (
        r"statement timeout|canceling statement|query timeout|timeout expired"
        r"|interrupted|DPY-4024|ORA-03156|ORA-01013"
    ),
    "corrupt": r"file is not a database|disk image is malformed|database corrupt",
    "no_snapshot": r"snapshot isolation|\b3952\b",
    "read_only": (
        r"readonly database|read-only transaction|read only transaction"
        r"|ORA-01456"
    ),
}
_PATTERNS = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in _SAYS.items()}


def _says(kind: str, message: str) -> bool:
    return _PATTERNS[kind].search(message) is not None


def _driver_message(exc: BaseException, url: str) -> str:
    """The driver's own message, first line, short, any password removed."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split()) if str(orig) else type(orig).__name__
    password = _password(url)
    if password:
        for form in {password, quote_plus(password)}:
            text = text.replace(form, "***")
    text = _mask_text(text)
    text = text.rstrip(" .")
    return text[:300] + ("..." if len(text) > 300 else "")


def _error_code(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    for attr in ("pgcode", "sqlstate", "code"):
        code = getattr(orig, attr, None)
        if isinstance(code, str | int) and code:
            return f", code {code}"
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], str | int) and re.fullmatch(r"[A-Z0-9]{5}|\d+", str(args[0])):
        return f", code {args[0]}"
    return ""


class TransientDatabaseError(InputError):
    """A database fault that may pass by itself (a refused or dropped connection, a time-out,
    a lock or deadlock): schedulers retry these, and only these."""

    transient = True


def connection_error(exc: BaseException, name: str, url: str, origin: str) -> InputError:
    """An error connecting as an InputError that names the source and what to check;
    transient unless the host is unknown, the login is refused or the database is missing."""
    message = _driver_message(exc, url)
    stop = "" if message.endswith(("?", "!")) else "."
    text = (
        f"source '{name}': the database refused the connection or could not be reached "
        f"({masked(url)}): {message}{stop} Check the server is running and "
        f"reachable from here, and the credentials in {origin}."
    )
    if _says("corrupt", message):
        return InputError(
            f"source '{name}': {masked(url)} is not a readable database (damaged, or not a "
            "database file); restore it from a copy or point the URL at the right file."
        )
    if _says("permanent_connect", message):
        return InputError(text)
    return TransientDatabaseError(text)


# A query's fault, by what the driver's message says (the first that matches): the error
# and its message ({name} the source, {template} its template, {message} the driver's own
# message, shown only where it names the database, its tables, columns or syntax).
_QUERY_FAULTS = (
    (
        "corrupt",
        InputError,
        "source '{name}': the database file is damaged or not a database ({url}): {message}; "
        "restore it from a copy or point the URL at the right file.",
    ),
    (
        "no_snapshot",
        InputError,
        "source '{name}': the database does not allow snapshot isolation, which cldetl reads "
        "in so that its row counts and its reads see the same rows. Ask the DBA to run ALTER "
        "DATABASE <name> SET ALLOW_SNAPSHOT_ISOLATION ON (it changes no data), or connect to "
        "a readable secondary (see docs/connectors.md).",
    ),
    (
        "locked",
        TransientDatabaseError,
        "source '{name}': the database is locked by another program ({message}); run the "
        "extract again when it has finished.",
    ),
    (
        "deadlock",
        TransientDatabaseError,
        "source '{name}': the database chose this query as a deadlock victim; run the "
        "extract again.",
    ),
    (
        "timeout",
        TransientDatabaseError,
        "source '{name}': connectors/{template} ran longer than the statement time-out "
        "(connection.statement_timeout) and was stopped; raise the time-out or run the "
        "extract when the database is less busy.",
    ),
    (
        "read_only",
        InputError,
        "source '{name}': connectors/{template} tried to change the database, which cldetl "
        "opens read-only; nothing was changed. Templates may only SELECT.",
    ),
    (
        "missing_object",
        InputError,
        "source '{name}': table or column missing: {message}; check identifiers in "
        "sources.{name}.params.identifiers or the template connectors/{template} (names "
        "with capitals are quoted, so their case must match on PostgreSQL and Oracle).",
    ),
    (
        "syntax",
        InputError,
        "source '{name}': the database rejected the SQL of connectors/{template}: "
        "{message}; review it with `cldetl sql`.",
    ),
)


def query_error(exc: BaseException, name: str, template: str, url: str) -> InputError:
    """An error running a source's SQL as an InputError. The driver's message is shown only
    when it names tables, columns or syntax: others (a failed conversion) can quote values."""
    message = _driver_message(exc, url)
    fields = {"name": name, "template": template, "message": message, "url": masked(url)}
    for kind, error, text in _QUERY_FAULTS:
        if _says(kind, message):
            return error(text.format(**fields))
    if getattr(exc, "connection_invalidated", False):
        return TransientDatabaseError(
            f"source '{name}': the connection to the database was lost while reading "
            f"({type(getattr(exc, 'orig', exc)).__name__}); run the extract again."
        )
    return InputError(
        f"source '{name}': the database could not run connectors/{template} "
        f"({type(getattr(exc, 'orig', None) or exc).__name__}{_error_code(exc)}); the "
        "database's message is not shown as it may quote record values. Run the SQL from "
        "`cldetl sql` in the database to see it."
    )
