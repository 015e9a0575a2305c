"""Per record, what a template's `left_out` conditions remove in the database: the source key
and the reason of every base-table row the query leaves out (issue 18.7).

The reconciliation counts these rows per reason (source_counts); this lists them, so "why is
this person's home care not in the return?" is answered from the run folder by key. It costs a
second query per source, so a run asks for it (`cldetl run --list-left-out`). The key is the
source's `key` columns read from the template's base table; a template whose base table does
not hold them under those names is named in the result's `note` rather than guessed at.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from cldetl.extract.database import connect, create_engine, query_error
from cldetl.extract.database_url import database_url, url_origin
from cldetl.extract.render import render_source, statement
from cldetl.mapping.template_declarations import declaration_for, effective_params

if TYPE_CHECKING:
    from cldetl.mapping import Mapping
    from cldetl.spec.period import ReportingPeriod

log = logging.getLogger(__name__)
COLUMNS = ["source", "source_key", "reason"]


def left_out_records(
    mapping: Mapping,
    period: ReportingPeriod,
    connectors_dir: str | Path | None = None,
    *,
    url: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every row the database sources' `left_out` conditions remove, with its source key and
    reason; and a note per source that could not be listed (and why)."""

    wanted = []
    for name, source in mapping.sources.items():
        declared = declaration_for(mapping, name, connectors_dir) if source.template else None
        if declared is not None and declared.base_table and declared.left_out:
            wanted.append((name, source, declared))
    if not wanted:
        return pd.DataFrame(columns=COLUMNS), []
    origin = url_origin(mapping) if url is None else "the url argument"
    url = url if url is not None else database_url(mapping)
    engine = create_engine(url, origin)
    parts, notes = [], []
    try:
        conn = connect(engine, wanted[0][0], url, origin)
        try:
            inspector = inspect(conn)
            for name, source, declared in wanted:
                table = effective_params(mapping, name, declared)["identifiers"][
                    declared.base_table
                ]
                schema, _, bare = table.rpartition(".")
                held = {c["name"] for c in inspector.get_columns(bare, schema=schema or None)}
                missing = [k for k in source.key if k not in held]
                if missing:
                    notes.append(
                        f"{name}: its base table {table} has no column {', '.join(missing)} "
                        "(the source's key), so its rows left out are counted, not listed"
                    )
                    continue
                query = render_source(
                    mapping, name, engine.dialect, period, connectors_dir,
                    left_out_keys=tuple(source.key),
                )  # fmt: skip
                try:
                    rows = conn.execute(statement(query)).all()
                except DBAPIError as exc:
                    raise query_error(exc, query.name, query.template, url) from None
                for *keys, why in rows:
                    key = "|".join("" if k is None else str(k) for k in keys)
                    parts.append((name, key, query.reasons[int(why) - 1]))
        finally:
            conn.close()  # rolls back: nothing is ever committed
    finally:
        engine.dispose()
    for note in notes:
        log.warning("left out per record: %s", note)
    return pd.DataFrame(parts, columns=COLUMNS), notes
