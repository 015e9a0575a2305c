"""No fixed caps in SQL: every next action and every person cared for reaches the transform as
a list column, and the Event Outcome is chosen from all of a step's next actions (the
numbered next_action_1..3 columns hold only the first three)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import yaml

from cldetl.extract import extract
from cldetl.mapping import MappingError, load_mapping
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from examples.mosaic_liquidlogic.generate import build_database

REPO = Path(__file__).resolve().parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
NUMBERED = ["next_action_1", "next_action_2", "next_action_3"]

pytestmark = pytest.mark.slow


def list_mapping(tmp_path: Path) -> Path:
    """Eastmoor's mapping reading every next action (`next_actions`, a list column)."""
    raw = yaml.safe_load((REPO / "mappings" / "eastmoor.yaml").read_text(encoding="utf-8"))
    raw["sources"]["steps"]["columns"].update(next_actions="list", cared_for="list")
    raw["sources"]["services"]["columns"].update(cared_for="list")
    for rule in raw["events"]:
        for row in rule.get("rows", []):
            outcome = row.get("fields", {}).get("Event Outcome", {})
            if isinstance(outcome, dict) and outcome.get("outcomes", [])[:3] == NUMBERED:
                outcome["outcomes"] = ["next_actions"] + outcome["outcomes"][3:]
    raw.pop("tests", None)
    path = tmp_path / "eastmoor_lists.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The Eastmoor example with four next actions on some steps (the best one last by id)
    and a carer caring for five people."""
    folder = tmp_path_factory.mktemp("no_caps")
    path = folder / "eastmoor.db"
    build_database("mosaic", f"sqlite:///{path}", people=60, seed=2025)
    mapping = load_mapping(REPO / "mappings" / "eastmoor.yaml")
    lookup = mapping.lookups["outcome"].values
    order = load_spec().field("Event Outcome").values
    with sqlite3.connect(path) as conn:
        types = conn.execute(
            "SELECT workflow_next_action_type_id, description "
            "FROM dm_workflow_nxt_action_types ORDER BY 1"
        ).fetchall()
        ranked = [(i, d, order.index(lookup[d])) for i, d in types if d in lookup]
        # The best-ranked type that has three worse types with lower ids.
        best = next(
            t
            for t in sorted(ranked, key=lambda t: t[2])
            if sum(1 for o in ranked if o[0] < t[0] and o[2] > t[2]) >= 3
        )
        worse = [o for o in ranked if o[0] < best[0] and o[2] > best[2]][:3]
        steps = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT source_step_id FROM dm_workflow_links ORDER BY 1"
            ).fetchall()
        ]
        conn.execute("DELETE FROM dm_workflow_links")  # every linked step gets four
        link = 900_000
        for step in steps:
            for type_id, _, _ in [*worse, best]:
                link += 1
                conn.execute(
                    "INSERT INTO dm_workflow_links (workflow_link_id, source_step_id, "
                    "target_step_id, workflow_next_action_type_id) VALUES (?, ?, NULL, ?)",
                    (link, step, type_id),
                )
        carer = conn.execute("SELECT MIN(person_id) FROM dm_persons").fetchone()[0]
        others = [
            r[0]
            for r in conn.execute(
                "SELECT person_id FROM dm_persons WHERE person_id <> ? ORDER BY 1 LIMIT 5", (carer,)
            )
        ]
        for i, other in enumerate(others):
            conn.execute(
                "INSERT INTO dm_relationships (relationship_id, person_id, other_person_id, "
                "relationship_type, start_date, end_date) VALUES (?, ?, ?, ?, ?, NULL)",
                (800_000 + i, carer, other, "UNPAID_CARER", f"2020-01-0{i + 1}"),
            )
    return f"sqlite:///{path}", steps, [w[1] for w in worse] + [best[1]], carer, others


def test_every_next_action_and_cared_for_person_is_extracted(tmp_path, database):
    url, steps, descriptions, carer, others = database
    frames = extract(load_mapping(list_mapping(tmp_path)), PERIOD, url=url)
    read = frames["steps"].set_index("workflow_step_id")
    for step in set(steps) & set(read.index):
        assert list(read.loc[step, "next_actions"]) == descriptions
        assert read.loc[step, "next_action_3"] == descriptions[2]  # the first three only
    mine = frames["steps"][frames["steps"]["person_id"] == carer]
    for cared in mine["cared_for"]:
        assert [int(c) for c in cared][-5:] == others or set(others) <= {int(c) for c in cared}


def test_the_outcome_is_chosen_from_all_next_actions(tmp_path, database):
    url, steps, descriptions, _, _ = database
    order = load_spec().field("Event Outcome").values
    capped_mapping = load_mapping(REPO / "mappings" / "eastmoor.yaml")
    listed_mapping = load_mapping(list_mapping(tmp_path))
    capped = transform(capped_mapping, extract(capped_mapping, PERIOD, url=url), PERIOD)
    listed = transform(listed_mapping, extract(listed_mapping, PERIOD, url=url), PERIOD)
    assert len(capped.cld) == len(listed.cld)
    best = capped_mapping.lookups["outcome"].values[descriptions[-1]]
    rank = {v: i for i, v in enumerate(order)}
    before = capped.cld["Event Outcome"].map(rank)
    after = listed.cld["Event Outcome"].map(rank)
    assert (after <= before).all(), "all next actions can only raise the outcome"
    assert (listed.cld["Event Outcome"] == best).sum() > (capped.cld["Event Outcome"] == best).sum()


def test_a_list_column_from_a_file_is_refused(tmp_path):
    raw = yaml.safe_load((REPO / "mappings" / "eastmoor.yaml").read_text(encoding="utf-8"))
    raw["sources"]["carers_file"] = {
        "file": "x.csv",
        "key": ["id"],
        "columns": {"id": "text", "people": "list"},
    }
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(MappingError, match="list columns come from SQL templates only"):
        load_mapping(path)
