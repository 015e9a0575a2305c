"""The database's row counts per source: table rows = left out in the database (by reason) +
read, for every example source, checked against counts made without the templates' SQL."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cldetl.extract import read_sources
from cldetl.extract.source_counts import SourceCounts
from cldetl.mapping import load_mapping
from cldetl.mapping.template_declarations import builtin_connectors, read_declaration
from cldetl.spec.period import ReportingPeriod
from examples.mosaic_liquidlogic.generate import build_database, build_frames

REPO = Path(__file__).resolve().parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
SMALL, SEED = 60, 2025
EXAMPLES = {"mosaic": "mappings/eastmoor.yaml", "liquidlogic": "mappings/westvale.yaml"}
LEFT = " (filtered in the database)"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counts")
    out = {}
    for system, mapping_path in EXAMPLES.items():
        path = folder / f"{system}.db"
        build_database(system, f"sqlite:///{path}", people=SMALL, seed=SEED)
        mapping = load_mapping(REPO / mapping_path)
        extracted = read_sources(mapping, PERIOD, url=f"sqlite:///{path}")
        out[system] = (path, mapping, extracted.frames, extracted.counts)
    return out


@pytest.mark.parametrize("system", list(EXAMPLES))
def test_table_rows_are_left_out_plus_read_for_every_source(examples, system):
    path, mapping, frames, counts = examples[system]
    database_sources = [n for n, s in mapping.sources.items() if s.template]
    assert sorted(counts) == sorted(database_sources)
    with sqlite3.connect(path) as conn:
        for name in database_sources:
            source = mapping.sources[name]
            declaration = read_declaration(builtin_connectors() / source.template, source.template)
            table = declaration.parameters[declaration.base_table].default
            rows = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            assert counts[name].table_rows == rows, name
            assert rows == sum(counts[name].left_out.values()) + len(frames[name]), name
            assert all(reason.endswith(LEFT) for reason in counts[name].left_out)


def test_mosaic_steps_left_out_match_a_count_made_in_pandas(examples):
    """The steps the period filter leaves out, counted from the generator's own frames."""
    _, _, _, counts = examples["mosaic"]
    steps = build_frames("mosaic", SMALL, SEED)["dm_workflow_steps"]
    completed = pd.to_datetime(steps["completed_on"])
    started = pd.to_datetime(steps["started_on"]).fillna(pd.to_datetime(steps["incoming_on"]))
    before = completed < pd.Timestamp(PERIOD.start)
    after = ~before & (started > pd.Timestamp(PERIOD.end))
    assert counts["steps"].left_out == {
        "completed before the reporting period" + LEFT: int(before.sum()),
        "started after the reporting period" + LEFT: int(after.sum()),
    }
    assert counts["steps"].table_rows == len(steps)
    assert counts["steps"].read == len(steps) - int(before.sum()) - int(after.sum())


def test_a_source_counts_reads_what_is_not_left_out():
    counts = SourceCounts(table_rows=10, left_out={"a": 3, "b": 2})
    assert counts.read == 5


def test_a_template_without_a_base_table_is_not_counted_and_says_so(tmp_path, caplog):
    """An authority's own template without a declaration still runs; its table count stays
    blank (never guessed) and the log says what to declare."""
    from tests.testshire import MAPPING, build_database

    url = build_database(tmp_path / "testshire.db")
    with caplog.at_level("WARNING", logger="cldetl.extract.source_counts"):
        extracted = read_sources(MAPPING, PERIOD, url=url)
    assert extracted.counts == {} and len(extracted.frames["people"])
    assert "declares no base table" in caplog.text and "add base:" in caplog.text
