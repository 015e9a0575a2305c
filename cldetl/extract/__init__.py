"""`extract`: every source of a mapping read into a DataFrame with its declared columns.

Template sources run against the LA's database through SQLAlchemy (SQL Server, Oracle,
PostgreSQL, SQLite: any URL it understands). Rows stream in chunks (`stream_results` with
`yield_per`) into one Parquet staging file per source, which is then read back, so memory
during extraction is one chunk plus the finished frames. File sources (CSV, XLSX) are read and
checked by `cldetl.extract.file_sources`.

    frames = extract(mapping, period)                     # URL from the mapping's connection
    frames = extract(mapping, period, progress=True)      # a progress bar per source (stderr)
    extracted = read_sources(mapping, period)             # frames, and the tables' counts
    extracted.frames, extracted.counts                    # read in one database snapshot

Staging files hold personal data: by default they are written to a private temporary folder
that is removed when the extract ends; with `staging_dir` they are kept there (the caller then
owns their retention).
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from cldetl import collector
from cldetl.errors import UsageError
from cldetl.extract.column_types import arrow_schema, to_frame
from cldetl.extract.database import connect, create_engine, stream_source
from cldetl.extract.database_url import database_url, masked, url_origin
from cldetl.extract.file_sources import read_file_source
from cldetl.extract.render import RenderedSource, format_rendered, render_all, render_source
from cldetl.extract.source_counts import SourceCounts, count_query, run_count

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

    from cldetl.mapping import Mapping
    from cldetl.spec.period import ReportingPeriod

__all__ = [
    "Extracted",
    "RenderedSource",
    "SourceCounts",
    "database_url",
    "extract",
    "extract_source",
    "format_rendered",
    "masked",
    "read_file_source",
    "read_sources",
    "render_all",
    "render_source",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000


@dataclass
class Extracted:
    """What an extract read: each source's frame, and each database source's counts (base
    table rows and those left out in the database, by reason) taken in the same snapshot as
    its read. A source whose template declares no base table has no counts."""

    frames: dict[str, pd.DataFrame]
    counts: dict[str, SourceCounts] = field(default_factory=dict)


def read_sources(
    mapping: Mapping,
    period: ReportingPeriod,
    *,
    connectors_dir: Path | None = None,
    staging_dir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = False,
    url: str | None = None,
    counted: bool = True,
) -> Extracted:
    """Read every source of `mapping` for `period`, and count its database sources' tables.

    The database sources are read through one connection in one read-only transaction that
    sees one snapshot of the database (`cldetl.extract.database.connect`): each source's
    count and its read, and all the sources, see the same rows however busy the case system
    is, so the reconciliation's table rows = left out in the database + read holds.

    Args:
        mapping: the authority's mapping (`load_mapping`).
        period: the reporting period; its start and end bind as :period_start, :period_end.
        connectors_dir: the folder of connector templates; by default `connectors/` beside
            the mapping's folder.
        staging_dir: keep the Parquet staging files here (default: a temporary folder,
            removed afterwards).
        chunk_rows: rows fetched and written per chunk.
        progress: show a progress bar per source on stderr.
        url: a database URL to use instead of the mapping's connection.
        counted: count the database sources' base tables (False: frames only).

    Returns:
        One DataFrame per source, in mapping order, with exactly the declared columns, and
        the counts of each database source whose template declares a base table.

    Raises:
        MappingError for template problems (before the database is touched), UsageError for a
        missing URL or driver, InputError for a database or file that cannot be read.
    """
    if chunk_rows < 1:
        raise UsageError(f"chunk_rows must be at least 1, not {chunk_rows}.")
    extracted = Extracted(frames={})
    with contextlib.ExitStack() as stack:
        stack.enter_context(collector.paused())  # see cldetl.collector
        bar = stack.enter_context(_Progress.open(progress))
        database = _Database.open(stack, mapping, period, connectors_dir, url, counted)
        staging = _staging(stack, staging_dir) if database else Path()
        for name, source in mapping.sources.items():
            task = bar.add(name)
            if source.file is not None:
                extracted.frames[name] = read_file_source(mapping, name)
                bar.advance(task, len(extracted.frames[name]))
            else:
                assert database is not None
                conn = database.connection(stack, name)
                if name in database.count_queries:
                    query = database.count_queries[name]
                    extracted.counts[name] = run_count(conn, query, database.url)
                path = staging / f"{_file_stem(name, len(extracted.frames))}.parquet"
                rendered = database.rendered[name]
                log.info("source %s: extracting with %s to %s", name, rendered.template, path)
                _stage(conn, rendered, source, path, chunk_rows, database.url, bar, task)
                extracted.frames[name] = _read_staged(path)
            bar.finish(task)
    return extracted


def extract(mapping: Mapping, period: ReportingPeriod, **options: Any) -> dict[str, pd.DataFrame]:
    """Every source's frame, without the counts (`read_sources` takes the same options): for
    profiling, starter mappings and anything that does not reconcile."""
    return read_sources(mapping, period, counted=False, **options).frames


def extract_source(
    mapping: Mapping, name: str, period: ReportingPeriod, **options: Any
) -> Extracted:
    """One source read and counted in its own snapshot (`read_sources`' options): a flow runs
    one task per source, each retried on its own; the reconciliation is per source, so a
    transaction per source is enough."""
    single = mapping.model_copy(update={"sources": {name: mapping.source_named(name)}})
    return read_sources(single, period, **options)


@dataclass
class _Database:
    """The case system's side of an extract: every template rendered (and each count query)
    before the database is touched, then one connection, opened when first needed."""

    engine: Engine
    url: str
    origin: str
    rendered: dict[str, RenderedSource]
    count_queries: dict[str, RenderedSource]
    conn: Connection | None = None

    @classmethod
    def open(
        cls,
        stack: contextlib.ExitStack,
        mapping: Mapping,
        period: ReportingPeriod,
        connectors_dir: Path | None,
        url: str | None,
        counted: bool,
    ) -> _Database | None:
        names = [n for n, s in mapping.sources.items() if s.template is not None]
        if not names:
            return None
        origin = url_origin(mapping) if url is None else "the url argument"
        url = url if url is not None else database_url(mapping)
        timeout = mapping.connection.statement_timeout if mapping.connection else None
        engine = create_engine(url, origin, statement_timeout=timeout)
        stack.callback(engine.dispose)
        dialect = engine.dialect
        # Every template renders before the database is touched: mistakes surface first.
        rendered = {n: render_source(mapping, n, dialect, period, connectors_dir) for n in names}
        queries = {}
        for name in names if counted else ():
            query = count_query(mapping, name, dialect, period, connectors_dir)
            if query is not None:
                queries[name] = query
        return cls(engine, url, origin, rendered, queries)

    def connection(self, stack: contextlib.ExitStack, name: str) -> Connection:
        if self.conn is None:
            log.info("connecting to %s", masked(self.url))
            self.conn = connect(self.engine, name, self.url, self.origin)
            stack.callback(self.conn.close)
        return self.conn


def _staging(stack: contextlib.ExitStack, staging_dir: Path | None) -> Path:
    if staging_dir is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cldetl-staging-")))
    path = Path(staging_dir)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _file_stem(name: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return stem if stem == name else f"{index:02d}_{stem}"


def _stage(conn, rendered, source, path: Path, chunk_rows: int, url: str, bar, task) -> None:
    """Stream one source into a Parquet file, one chunk in memory at a time."""

    schema = arrow_schema(source.columns)
    try:
        with pq.ParquetWriter(str(path), schema) as writer:
            for table in stream_source(conn, rendered, source, chunk_rows, url):
                writer.write_table(table)
                bar.advance(task, table.num_rows)
    except BaseException:
        path.unlink(missing_ok=True)  # no half-written staging file left behind
        raise


def _read_staged(path: Path) -> pd.DataFrame:

    return to_frame(pq.read_table(str(path)), release=True)


class _Progress:
    """A rich progress bar per source on stderr, or nothing at all."""

    def __init__(self, progress) -> None:
        self._progress = progress

    @classmethod
    @contextlib.contextmanager
    def open(cls, enabled: bool) -> Iterator[_Progress]:
        if not enabled:
            yield cls(None)
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(finished_text="done"),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} rows"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        with progress:
            yield cls(progress)

    def add(self, name: str):
        if self._progress is None:
            return None
        return self._progress.add_task(name, total=None)

    def advance(self, task, rows: int) -> None:
        if self._progress is not None:
            self._progress.advance(task, rows)

    def finish(self, task) -> None:
        if self._progress is not None:
            done = next(t.completed for t in self._progress.tasks if t.id == task)
            self._progress.update(task, total=done, completed=done)
