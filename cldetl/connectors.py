"""The extract layer's public names in one place, for callers written before it was split.

Each job has its own module; read them in the order a source travels:

    cldetl.sql_templates  where templates are, their declared parameters, the Jinja sandbox
                          and the rendered SQL with its bound values
    cldetl.database_url   the URL from an environment variable or Prefect Secret block
    cldetl.database       the read-only connection, its errors, streaming rows as Arrow
    cldetl.file_sources   partner files (CSV, XLSX)
    cldetl.column_types   the declared column types shared by both
    cldetl.extract        orchestrates them: a mapping's sources to DataFrames
"""

from __future__ import annotations

from cldetl.column_types import arrow_schema, to_frame
from cldetl.database import (
    connection_error,
    create_engine,
    match_columns,
    query_error,
    stream_source,
)
from cldetl.database_url import database_url, masked, url_origin
from cldetl.sql_templates import (
    BIND,
    BUILTIN_BINDS,
    DIALECTS,
    RenderedSource,
    connectors_dir_for,
    dialect_for,
    format_rendered,
    quote_identifier,
    render_all,
    render_source,
    statement,
)

__all__ = [
    "BIND",
    "BUILTIN_BINDS",
    "DIALECTS",
    "RenderedSource",
    "arrow_schema",
    "connection_error",
    "connectors_dir_for",
    "create_engine",
    "database_url",
    "dialect_for",
    "format_rendered",
    "masked",
    "match_columns",
    "query_error",
    "quote_identifier",
    "render_all",
    "render_source",
    "statement",
    "stream_source",
    "to_frame",
    "url_origin",
]
