"""Build the example case-system databases: Eastmoor (Mosaic, LA 998), Westvale
(LiquidLogic, LA 997) and Northfen (Mosaic with its own local codes and text person IDs,
LA 996: `--system northfen`).

    python -m examples.mosaic_liquidlogic.generate --system mosaic \
        --url sqlite:///out/examples/eastmoor.db
    python examples/mosaic_liquidlogic/generate.py --system liquidlogic --people 10000 \
        --url postgresql+psycopg://user@localhost/westvale
    python -m examples.mosaic_liquidlogic.generate --system mosaic --rows-target 1000000 ...

Seeded and deterministic: the same --seed and --people give the same database. Histories run
from 2022-01-01 to 2026-12-31, so any quarter end from 2024 to 2026 can be reported. The
random bulk is drawn with numpy over whole arrays; the story people (fixed ids 9000NN for
Eastmoor, 9001NN for Westvale) are literal rows. The tables are written through SQLAlchemy to
any URL (SQLite and PostgreSQL use their fast bulk paths).

From Python: `build_database("mosaic", "sqlite:///eastmoor.db", people=3000, seed=2025)`
returns {table: row count}.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "examples.mosaic_liquidlogic"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import MetaData, create_engine, event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from . import eastmoor, northfen, westvale  # noqa: E402
from .population import build_population  # noqa: E402

SYSTEMS = {"mosaic": eastmoor, "liquidlogic": westvale, "northfen": northfen}
"""Generator name -> module; `northfen` is Mosaic set up with another authority's codes."""
DEFAULT_PEOPLE = 3000
DEFAULT_SEED = 2025


def build_frames(system: str, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED):
    """The tables of one example as DataFrames (nothing written): {table: frame}."""
    module = _module(system)
    population = build_population(people, seed, module.AREA, module.FIRST_PERSON_ID)
    return module.frames(population)


def people_for_rows(system: str, rows_target: int, seed: int = DEFAULT_SEED) -> int:
    """How many people give about `rows_target` source rows (all tables together): rows grow
    linearly with people, so a small sample gives the rate."""
    sample = 2000
    rows = sum(len(f) for f in build_frames(system, sample, seed).values())
    return max(20, round(rows_target * sample / rows))


def build_database(
    system: str, url: str, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED
) -> dict[str, int]:
    """Create (or re-create) the example's tables at `url` and fill them.

    Args:
        system: 'mosaic' (Eastmoor), 'liquidlogic' (Westvale) or 'northfen' (Northfen,
            on Mosaic).
        url: a SQLAlchemy URL, e.g. sqlite:///out/examples/eastmoor.db.
        people: how many random people besides the story people.
        seed: the random seed.

    Returns:
        {table name: rows written}.
    """
    module = _module(system)
    frames = build_frames(system, people, seed)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # An example database, rebuilt at will: no need to wait for the disk on every commit.
        event.listen(engine, "connect", _sqlite_fast)
    metadata = MetaData()
    tables = module.tables(metadata)
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
            metadata.create_all(conn)
            for name, table in tables.items():
                _insert(conn, table, frames[name])
    finally:
        engine.dispose()
    return {name: len(frames[name]) for name in tables}


def _sqlite_fast(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.execute("PRAGMA journal_mode = MEMORY")
    cursor.close()


def _module(system: str):
    try:
        return SYSTEMS[system]
    except KeyError:
        raise ValueError(f"system {system!r}: use one of {', '.join(SYSTEMS)}") from None


def _python_values(frame: pd.DataFrame, table) -> pd.DataFrame:
    """Columns in table order as Python objects, None for missing."""
    columns = [c.name for c in table.columns]
    out = frame.reindex(columns=columns)
    converted = {}
    for c in table.columns:
        values = out[c.name]
        python_type = c.type.python_type if hasattr(c.type, "python_type") else object
        if python_type is int:
            values = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif c.type.__class__.__name__ in ("Numeric", "Float"):
            values = pd.to_numeric(values, errors="coerce")
        converted[c.name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(converted, columns=columns)


def _insert(conn, table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    values = _python_values(frame, table)
    backend = conn.dialect.name
    driver = conn.dialect.driver
    columns = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in values.columns)
    name = conn.dialect.identifier_preparer.format_table(table)
    if backend == "postgresql" and driver == "psycopg":
        buffer = io.StringIO()
        values.to_csv(buffer, index=False, header=False, na_rep="")
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        return
    rows = list(values.itertuples(index=False, name=None))
    if backend == "sqlite":
        marks = ", ".join("?" for _ in values.columns)
        conn.exec_driver_sql(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)
        return
    # Any other database: SQLAlchemy's executemany with Python dates.
    dates = [c.name for c in table.columns if c.type.__class__.__name__ in ("Date", "DateTime")]
    records = values.copy()
    for column in dates:
        parsed = pd.to_datetime(records[column], errors="coerce")
        is_date = table.columns[column].type.__class__.__name__ == "Date"
        records[column] = (
            (parsed.dt.date if is_date else parsed.dt.to_pydatetime())
            .astype(object)
            .where(parsed.notna(), None)
        )
    conn.execute(table.insert(), records.to_dict("records"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=sorted(SYSTEMS), required=True)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database to fill")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--people",
        type=int,
        default=None,
        help=f"random people besides the story people (default {DEFAULT_PEOPLE})",
    )
    size.add_argument(
        "--rows-target",
        type=int,
        default=None,
        help="about this many source rows in all (sets --people)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    people = args.people if args.people is not None else DEFAULT_PEOPLE
    if args.rows_target is not None:
        people = people_for_rows(args.system, args.rows_target, args.seed)
    began = time.perf_counter()
    counts = build_database(args.system, args.url, people=people, seed=args.seed)
    took = time.perf_counter() - began
    width = max(len(t) for t in counts)
    for table, n in counts.items():
        print(f"{table:<{width}}  {n:>10,}")
    print(
        f"{'total':<{width}}  {sum(counts.values()):>10,}  ({people:,} random people, "
        f"seed {args.seed}, {took:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
