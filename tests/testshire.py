"""The test authority (tests/data/mapping_files/testshire.yaml): its tests' source rows pooled
into one data set, and a SQLite database holding them, for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cldetl.mapping import load_mapping

MAPPING_PATH = Path(__file__).parent / "data" / "mapping_files" / "testshire.yaml"
MAPPING = load_mapping(MAPPING_PATH)
TABLES = {"people": "ts_people", "psr_history": "ts_psr", "steps": "ts_steps", "lines": "ts_lines"}
ID_COLUMNS = ("person_id", "step_id", "line_id", "cared_for_id", "carer_id")


def pooled_sources() -> dict[str, pd.DataFrame]:
    """Every mapping test's records together, ids offset per test so they do not collide."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in MAPPING.sources}
    for offset, case in enumerate(MAPPING.tests):
        for name, source in MAPPING.sources.items():
            frame = pd.DataFrame(case.given.get(name, []), columns=list(source.columns))
            for column in ID_COLUMNS:
                if column in frame:
                    frame[column] = pd.to_numeric(frame[column]) + offset * 1000
            parts[name].append(frame)
    return {name: pd.concat(p, ignore_index=True) for name, p in parts.items()}


def build_database(path: Path) -> str:
    """A SQLite database with the pooled records; returns its URL."""
    import sqlalchemy as sa

    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name, frame in pooled_sources().items():
            frame.to_sql(TABLES[name], conn, index=False, if_exists="replace")
    engine.dispose()
    return url
