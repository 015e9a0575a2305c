"""A large authority for the end-to-end benchmark: its return's size is a parameter.

`benchmarks/_generate.py` draws valid CLD rows (people with a realistic mix of requests,
assessments, services and reviews, unpaid carers, carers known by association); this module
lays them out as an authority's reporting warehouse in SQLite, one `persons` table and one
`events` table (dates as ISO text, costs as numbers), which
`benchmarks/large_authority/mapping.yaml` turns back into the return. The return has about as
many rows as were drawn: a few per thousand are merged (service lines that follow on) or left
out by the guidance's rules; `build` reports the exact count after a run.

    python benchmarks/_authority.py --cld-rows 100000 --path out/bench/a100k.db

Built a slice at a time (`BATCH` rows), so building 1M rows needs well under 2 GB.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
import _generate  # noqa: E402

HERE = Path(__file__).resolve().parent / "large_authority"
MAPPING = HERE / "mapping.yaml"
CONNECTORS = HERE / "connectors"
URL_ENV = "BENCH_AUTHORITY_DB_URL"
BATCH = 100_000

# warehouse column: CLD field (persons: one row per person; events: one row per CLD row).
PERSONS = {
    "person_id": "LA Person Unique Identifier",
    "nhs_number": "NHS Number",
    "first_name": "First Name",
    "last_name": "Last Name",
    "gp_practice_code": "GP Practice Code",
    "gender": "Gender",
    "ethnicity": "Ethnicity",
    "date_of_birth": "Date of Birth",
    "date_of_death": "Date of Death",
    "psr": "Primary Support Reason",
    "postcode": "Postcode",
    "accommodation": "Accommodation Status",
    "employment": "Employment Status",
    "has_carer": "Has Unpaid Carer",
    "asd": "Autism Spectrum Disorder (ASD)",
    "visual": "Visual Impairment",
    "hearing": "Hearing Impairment",
    "dementia": "Dementia",
    "funding": "Client Funding Status",
}
EVENTS = {
    "person_id": "LA Person Unique Identifier",
    "client_type": "Client Type",
    "event_type": "Event Type",
    "event_reference": "Event Reference",
    "start_date": "Event Start Date",
    "end_date": "Event End Date",
    "description": "Event Description",
    "outcome": "Event Outcome",
    "route": "Request: Route of Access",
    "assessment_type": "Assessment Type",
    "eligible_needs": "Eligible Needs Identified",
    "assessment_method": "Method of Assessment",
    "caring_hours": "Total Hrs Caring per week",
    "adults_cared_for": "No. of adults being cared for",
    "linked_1": "Adult 1 Linked Person_ID",
    "linked_2": "Adult 2 Linked Person_ID",
    "linked_3": "Adult 3 Linked Person_ID",
    "service_type": "Service Type",
    "service_component": "Service Component",
    "delivery": "Delivery Mechanism",
    "cqc_location": "Provider CQC Location ID",
    "review_reason": "Review Reason",
    "outcomes_achieved": "Review Outcomes Achieved",
    "review_method": "Method of Review",
    "unit_cost": "Unit Cost",
    "cost_frequency": "Cost Frequency (Unit Type)",
    "planned_units": "Planned units per week",
}
DATES = {"date_of_birth", "date_of_death", "start_date", "end_date"}
NUMBERS = {"unit_cost", "planned_units"}


def _column(table: pa.Table, name: str, field: str) -> pa.Array:
    """A CLD text column as the warehouse holds it: NULL for blank, ISO dates, numbers."""
    text = table.column(field).combine_chunks()
    blank = pc.equal(text, "")
    if name in DATES:
        parsed = pc.strptime(pc.if_else(blank, None, text), format="%d/%m/%Y", unit="s")
        return pc.strftime(parsed, format="%Y-%m-%d")
    if name in NUMBERS:
        return pc.cast(pc.if_else(blank, None, text), pa.float64())
    return pc.if_else(blank, None, text)


def warehouse(table: pa.Table) -> dict[str, pa.Table]:
    """The generated CLD rows as the warehouse's `persons` and `events` tables."""
    import numpy as np

    person = table.column("LA Person Unique Identifier").combine_chunks()
    first = np.r_[True, pc.not_equal(person[1:], person[:-1]).to_numpy(zero_copy_only=False)]
    people = table.filter(pa.array(first))
    return {
        "persons": pa.table({k: _column(people, k, f) for k, f in PERSONS.items()}),
        "events": pa.table(
            {"event_id": pa.array(np.arange(1, table.num_rows + 1), pa.int64())}
            | {k: _column(table, k, f) for k, f in EVENTS.items()}
        ),
    }


def _create(conn: sqlite3.Connection, name: str, schema: pa.Schema) -> None:
    kinds = {pa.int64(): "INTEGER", pa.float64(): "REAL"}
    columns = ", ".join(f'"{f.name}" {kinds.get(f.type, "TEXT")}' for f in schema)
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    conn.execute(f'CREATE TABLE "{name}" ({columns})')


def _insert(conn: sqlite3.Connection, name: str, table: pa.Table) -> None:
    marks = ", ".join("?" for _ in table.column_names)
    for batch in table.to_batches(BATCH):
        rows = zip(*(column.to_pylist() for column in batch.columns), strict=True)
        conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)


def build(cld_rows: int, path: str | Path, seed: int = common.SEED) -> dict:
    """Write the authority's warehouse for about `cld_rows` CLD rows to a SQLite file.

    Returns {path, url, tables: {table: rows}, rows, seconds, bytes}.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    began = time.perf_counter()
    tables = warehouse(_generate.generate(cld_rows, seed))
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = OFF")
        for name, table in tables.items():
            _create(conn, name, table.schema)
            _insert(conn, name, table)
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)
    return common.sqlite_facts(path, began)


def sources_digest() -> str:
    """What a built warehouse depends on: the generator, this module and the spec."""
    import hashlib

    root = HERE.parent.parent
    digest = hashlib.sha256()
    for path in (
        HERE.parent / "_generate.py",
        Path(__file__).resolve(),
        root / "cldetl" / "spec" / "release2.yaml",
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cached(cld_rows: int, folder: Path, seed: int = common.SEED) -> dict:
    """The warehouse for `cld_rows`, built once (in a subprocess) and kept in `folder` under a
    name that changes when the generator, this module or the spec do."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"authority_{cld_rows}_seed{seed}_{sources_digest()}.db"
    began = time.perf_counter()
    built = not path.exists()
    if built:
        argv = [sys.executable, __file__, "--cld-rows", str(cld_rows), "--seed", str(seed)]
        subprocess.run([*argv, "--path", str(path)], check=True, stdout=subprocess.DEVNULL)
    return common.sqlite_facts(path, began, cached=not built)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cld-rows", type=int, default=100_000, help="CLD rows to draw")
    parser.add_argument("--seed", type=int, default=common.SEED)
    parser.add_argument("--path", required=True, help="the SQLite file to write")
    args = parser.parse_args(argv)
    info = build(args.cld_rows, args.path, args.seed)
    for name, n in info["tables"].items():
        print(f"{name:<8} {n:>10,}")
    print(f"{info['path']}: {info['bytes'] / 1e6:,.0f} MB in {info['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
