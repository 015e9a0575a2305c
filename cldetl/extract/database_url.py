"""The database URL: from an environment variable or a Prefect Secret block the mapping names,
never from the YAML, and only ever shown masked."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cldetl.errors import UsageError
from cldetl.mapping import where_in_mapping as _where

if TYPE_CHECKING:
    from cldetl.mapping import Mapping


def masked(url: str) -> str:
    """The URL with its password (and any PWD=/password= in the query) shown as ***."""

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return "(a URL SQLAlchemy cannot parse; not shown)"
    query = {}
    for key, value in parsed.query.items():
        if key.lower() in ("password", "pwd", "passwd"):
            query[key] = "***"
        elif isinstance(value, tuple):
            query[key] = tuple(_mask_text(v) for v in value)
        else:
            query[key] = _mask_text(value)
    rendered = parsed.set(query=query).render_as_string(hide_password=True)
    return rendered.replace("%2A%2A%2A", "***")


def _mask_text(value: str) -> str:
    """PWD=secret; inside an ODBC connection string (odbc_connect=...)."""
    return re.sub(r"(?i)\b(pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", r"\1=***", value)


def _password(url: str) -> str | None:

    try:
        return make_url(url).password or None
    except Exception:  # noqa: BLE001
        return None


def url_origin(mapping: Mapping) -> str:
    """Where the URL came from, for messages: '$CLD_DB_URL', a Prefect block, the mapping."""
    connection = mapping.connection
    if connection is None:
        return "the url argument"
    if connection.url_env:
        return f"${connection.url_env}"
    if connection.secret_block:
        return f"the Prefect Secret block '{connection.secret_block}'"
    return "connection.url of the mapping"


def database_url(mapping: Mapping) -> str:
    """The database URL: from the environment variable or Prefect Secret block the mapping
    names (or a password-free `connection.url`). Raises UsageError when it is not there."""
    connection = mapping.connection
    if connection is None:
        raise UsageError(
            f"{mapping.path or 'the mapping'}: the mapping has template sources but no "
            "'connection'; add connection.url_env naming an environment variable that holds "
            "the database URL (see docs/connectors.md)."
        )
    if connection.url_env:
        url = os.environ.get(connection.url_env, "").strip()
        if not url:
            raise UsageError(
                f"{_where(mapping, 'connection', 'url_env')}: the environment variable "
                f"{connection.url_env} is not set; set it to the database URL, e.g. "
                f"export {connection.url_env}='mssql+pyodbc://user:password@server/database"
                "?driver=ODBC+Driver+18+for+SQL+Server' (see docs/connectors.md)."
            )
        return url
    if connection.secret_block:
        return _secret_block_url(mapping, connection.secret_block)
    assert connection.url is not None
    return connection.url


def _secret_block_url(mapping: Mapping, block: str) -> str:
    where = _where(mapping, "connection", "secret_block")
    try:
        from prefect.blocks.system import Secret
    except ImportError:
        raise UsageError(
            f"{where}: reading the Prefect Secret block '{block}' needs Prefect "
            "(pip install prefect), or name an environment variable with connection.url_env."
        ) from None
    try:
        value = Secret.load(block).get()
    except Exception as exc:  # noqa: BLE001 - Prefect raises ValueError, HTTP errors, ...
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise UsageError(
            f"{where}: cannot load the Prefect Secret block '{block}' ({type(exc).__name__}"
            f"{': ' + first if first else ''}); check it exists (prefect block ls) and the "
            "Prefect API is reachable."
        ) from None
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if not isinstance(value, str) or not value.strip():
        raise UsageError(
            f"{where}: the Prefect Secret block '{block}' does not hold a URL string; store "
            "the database URL as the secret's value."
        )
    return value.strip()
