"""Nothing is lost in SQL: for every template, every nullable column of every table it reads is
set to NULL on some rows of the example database, and every row of the template's base table is
still either read (handed to the transform) or counted as left out by the database with a
reason: table rows = left out + read, with one row per key.

A column the template's `left_out` conditions do not mention cannot change which rows are
read at all: the same keys come out as with the column filled. And the transform, given the
example databases with NULLs in every nullable column at once, accounts for every row read
(in the output, used as person details or excluded with a reason).
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from cldetl.extract import extract, read_sources
from cldetl.mapping import load_mapping
from cldetl.mapping.template_declarations import (
    builtin_connectors,
    effective_params,
    read_declaration,
)
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from examples.mosaic_liquidlogic import eastmoor, westvale
from examples.mosaic_liquidlogic.generate import build_database

REPO = Path(__file__).resolve().parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
SMALL, SEED = 60, 2025
SYSTEMS = {
    "mosaic": (REPO / "mappings" / "eastmoor.yaml", eastmoor),
    "liquidlogic": (REPO / "mappings" / "westvale.yaml", westvale),
}

pytestmark = pytest.mark.slow


@functools.cache
def example_mapping(system: str):
    return load_mapping(SYSTEMS[system][0])


def nullable_columns(system: str) -> dict[str, list[str]]:
    """{table: [nullable, non-key columns]} of the example's schema."""
    tables = SYSTEMS[system][1].tables(MetaData())
    return {
        name: [c.name for c in table.columns if c.nullable and not c.primary_key]
        for name, table in tables.items()
    }


def cases():
    """(system, source, table, column) for every nullable column every template reads."""
    out = []
    for system, (mapping_path, _) in SYSTEMS.items():
        mapping = load_mapping(mapping_path)
        nullable = nullable_columns(system)
        for name, source in mapping.sources.items():
            if source.template is None:
                continue
            declaration = read_declaration(builtin_connectors() / source.template, source.template)
            tables = effective_params(mapping, name, declaration)["identifiers"].values()
            for table in dict.fromkeys(tables):
                for column in nullable[table]:
                    out.append((system, name, table, column))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("null_safety")
    built = {}
    for system in SYSTEMS:
        built[system] = folder / f"{system}.db"
        build_database(system, f"sqlite:///{built[system]}", people=SMALL, seed=SEED)
    return built


@pytest.fixture(scope="module")
def baseline(databases) -> dict[tuple[str, str], set[str]]:
    """Each source's keys read from the unchanged example databases."""
    keys = {}
    for system, (mapping_path, _) in SYSTEMS.items():
        mapping = load_mapping(mapping_path)
        frames = extract(mapping, PERIOD, url=f"sqlite:///{databases[system]}")
        for name, frame in frames.items():
            keys[system, name] = set(key_values(frame, mapping.sources[name].key))
    return keys


def key_values(frame, key: list[str]) -> list[str]:
    return frame[key].astype("string").fillna("<NULL>").agg("|".join, axis=1).tolist()


def with_nulls(source_db: Path, target: Path, updates: dict[str, list[str]], every: int) -> str:
    shutil.copy(source_db, target)
    with sqlite3.connect(target) as conn:
        for table, columns in updates.items():
            assignments = ", ".join(f"{c} = NULL" for c in columns)
            conn.execute(f"UPDATE {table} SET {assignments} WHERE rowid % {every} = 0")
    return f"sqlite:///{target}"


def test_every_template_and_nullable_column_is_covered():
    templates = {(system, name) for system, name, _, _ in CASES}
    assert len(templates) == 13 and len(CASES) > 100


@pytest.mark.parametrize(
    ("system", "name", "table", "column"), CASES, ids=["-".join(c) for c in CASES]
)
def test_a_null_never_loses_a_row(tmp_path, databases, baseline, system, name, table, column):
    mapping = example_mapping(system)
    single = mapping.model_copy(update={"sources": {name: mapping.sources[name]}})
    url = with_nulls(databases[system], tmp_path / "x.db", {table: [column]}, every=2)

    extracted = read_sources(single, PERIOD, url=url)
    frame, counts = extracted.frames[name], extracted.counts[name]
    keys = key_values(frame, mapping.sources[name].key)

    assert counts.read == len(frame), (counts, len(frame))
    assert len(set(keys)) == len(keys), "one row per key: no join fanned out"
    source = mapping.sources[name]
    declaration = read_declaration(builtin_connectors() / source.template, source.template)
    conditions = " ".join(when for _reason, when in declaration.left_out)
    if f".{column}" not in conditions:
        assert set(keys) == baseline[system, name], "the same rows reach the transform"


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_transform_accounts_for_rows_with_nulls_everywhere(tmp_path, databases, system):
    """Every nullable column NULL on every third row: every row read is in the output, used
    as person details, or excluded with a reason, and the database counts add up."""
    mapping_path, _ = SYSTEMS[system]
    mapping = load_mapping(mapping_path)
    url = with_nulls(databases[system], tmp_path / "x.db", nullable_columns(system), every=3)
    extracted = read_sources(mapping, PERIOD, url=url)
    frames, counts = extracted.frames, extracted.counts
    # Raises when the reconciliation (with the database counts) fails.
    result = transform(mapping, frames, PERIOD, database_counts=counts)
    read = result.reconciliation.groupby("source")["read"].max()
    for name, source_counts in counts.items():
        assert source_counts.read == len(frames[name]) == read[name], name
    excluded = result.exclusions
    assert excluded["reason"].str.strip().ne("").all(), "every exclusion says why"
