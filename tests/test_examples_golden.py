"""Golden tests of the three example authorities (examples/mosaic_liquidlogic/).

Each example database is built small (60 random people besides the story people, seed 2025)
in a temporary SQLite file, extracted with its mapping's SQL templates and transformed for the
12 months to 30/09/2025. The story people's rows are compared field by field with rows written
by hand from the guidance (tests/data/examples/<la>_people.csv and <la>_events.csv, never
produced by the code under test); the whole return must validate with no errors, the
reconciliation must balance, and the story records out of scope must be excluded with their
reasons.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cldetl.extract import read_sources
from cldetl.mapping import load_mapping
from cldetl.publish.portal_file import write_portal_csv
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import OUTCOMES, transform
from cldetl.validate import validate
from examples.mosaic_liquidlogic.generate import build_database

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "examples"
SMALL, SEED = 60, 2025
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
EXAMPLES = {
    # name: (system, mapping, LA code, story people's ids)
    "eastmoor": ("mosaic", "mappings/eastmoor.yaml", "998", "9000"),
    "westvale": ("liquidlogic", "mappings/westvale.yaml", "997", "9001"),
    # Mosaic again, with its own question codes, statuses, step type ids and text person IDs:
    # the same templates, configured by its mapping alone.
    "northfen": ("northfen", "mappings/northfen.yaml", "996", "N9000"),
}
DERIVED_REFERENCE = r"E[0-9a-f]{15}"
# Warnings the examples are allowed: people without an NHS number (a few per cent, as in
# real data; the guidance asks for it "where available").
ALLOWED_WARNINGS = {"mandatory.nhs_number"}

pytestmark = pytest.mark.slow  # builds and extracts three databases (about 15 s)


def read_table(path: Path) -> pd.DataFrame:
    """A hand-written '|'-separated table; '#' lines are comments; every cell is text."""
    frame = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, comment="#")
    width = len(frame.columns)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line and not line.startswith("#"):
            assert line.count("|") == width - 1, f"{path.name}:{number} has a wrong cell count"
    return frame


def run_example(tmp_path: Path, name: str, period: ReportingPeriod = PERIOD):
    system, mapping_path, _, _ = EXAMPLES[name]
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    if not (tmp_path / f"{name}.db").exists():
        build_database(system, url, people=SMALL, seed=SEED)
    mapping = load_mapping(ROOT / mapping_path)
    extracted = read_sources(mapping, period, url=url)
    frames = extracted.frames
    return mapping, frames, transform(mapping, frames, period, database_counts=extracted.counts)


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def results(examples_dir):
    """Each example's extract and transform for the period to 30/09/2025 (built once)."""
    return {name: run_example(examples_dir, name) for name in EXAMPLES}


def expected_rows(name: str) -> pd.DataFrame:
    """The story people's rows as the guidance wants them, all 48 fields."""
    _, _, la_code, _ = EXAMPLES[name]
    people = read_table(DATA / f"{name}_people.csv")
    events = read_table(DATA / f"{name}_events.csv")
    assert not people["person"].duplicated().any()
    rows = events.merge(people, on="person", how="left", validate="many_to_one")
    assert rows["First Name"].ne("").all(), "every event's person is in the people table"
    rows["LA Code"] = la_code
    rows["Reporting Period Start Date"] = "01/10/2024"
    rows["Reporting Period End Date"] = "30/09/2025"
    rows["LA Person Unique Identifier"] = rows["person"]
    for field in ("Adult 2 Linked Person_ID", "Adult 3 Linked Person_ID"):
        rows[field] = ""
    return rows.drop(columns=["person"])


SORT = [
    "LA Person Unique Identifier",
    "Client Type",
    "Event Type",
    "Event Start Date",
    "Event End Date",
    "Service Component",
    "Assessment Type",
]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_story_people_rows_match_the_guidance_field_by_field(results, name):
    _, _, result = results[name]
    expected = expected_rows(name)
    prefix = EXAMPLES[name][3]
    cld = result.cld
    actual = cld[cld["LA Person Unique Identifier"].str.startswith(prefix)]
    assert list(expected.columns.sort_values()) == list(cld.columns.sort_values())
    counts_expected = expected["LA Person Unique Identifier"].value_counts().sort_index()
    counts_actual = actual["LA Person Unique Identifier"].value_counts().sort_index()
    assert counts_actual.to_dict() == counts_expected.to_dict(), "rows per story person"
    expected = expected.sort_values(SORT, kind="stable").reset_index(drop=True)
    actual = actual.sort_values(SORT, kind="stable").reset_index(drop=True)
    problems = []
    for i in range(len(expected)):
        want, got = expected.loc[i], actual.loc[i]
        where = f"{want['LA Person Unique Identifier']} {want['Event Type'] or 'carer row'} " + (
            f"{want['Event Start Date']}"
        )
        for field in cld.columns:
            if field == "Event Reference" and want[field] == "*":
                if not pd.Series([got[field]]).str.fullmatch(DERIVED_REFERENCE).all():
                    problems.append(f"{where}: {field}: not a derived reference: {got[field]!r}")
            elif want[field] != got[field]:
                problems.append(f"{where}: {field}: expected {want[field]!r}, got {got[field]!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_whole_return_validates_with_no_errors(results, name, tmp_path):
    _, _, result = results[name]
    path = tmp_path / f"{name}.csv"
    write_portal_csv(result.cld, path, encoding="utf-8")  # CRLF, as the DLP gets it
    report = validate(path)
    findings = report.findings
    errors = findings[findings["severity"] == "error"]
    assert errors.empty, errors.head(20).to_string()
    warnings = set(findings.loc[findings["severity"] == "warning", "rule"])
    assert warnings <= ALLOWED_WARNINGS, warnings - ALLOWED_WARNINGS


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_reconciliation_balances(results, name):
    mapping, frames, result = results[name]
    table = result.reconciliation
    totals = table[table["kind"] == "total"].set_index("source")
    details = table[table["kind"] == "detail"]
    for source, frame in frames.items():
        row = totals.loc[source]
        assert row["read"] == len(frame)
        assert row["read"] == row["in_output"] + row["person_details"] + row["excluded"], source
        # From the database's own count of each source's base table.
        assert row["table_rows"] == row["left_out_in_database"] + row["read"], source
        for outcome, total in OUTCOMES.items():
            split = details[(details["source"] == source) & (details["outcome"] == outcome)]
            want = 0 if pd.isna(row[total]) else row[total]  # no database count taken here
            assert split["rows"].sum() == want, (source, outcome)
    assert len(result.lineage) == len(result.cld)
    assert set(table["la_code"]) == {mapping.metadata.la_code}
    assert set(table["period_end"]) == {"2025-09-30"}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_a_pivot_of_exclusions_by_reason_equals_the_reconciliation(results, name):
    """What an analyst does in Excel: count exclusions.csv by source, level and reason, and
    find the same numbers in reconciliation.csv (record level: outcome 'excluded'; row level:
    'excluded row'), with nothing counted twice."""
    _, _, result = results[name]
    pivot = result.exclusions.value_counts(["source", "level", "reason"]).sort_index()
    details = result.reconciliation[
        result.reconciliation["outcome"].isin(["excluded", "excluded row"])
    ]
    level = details["outcome"].map({"excluded": "record", "excluded row": "row"})
    reconciled = (
        details.assign(level=level)
        .set_index(["source", "level", "reason"])["rows"]
        .astype(int)
        .sort_index()
    )
    assert pivot.to_dict() == reconciled.to_dict()
    if name != "westvale":  # rows of records in the return (as in issue 11's 15 rows)
        assert (result.exclusions["level"] == "row").any()
    assert not result.exclusions["reason"].str.startswith("person details").any()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_story_records_out_of_scope_are_excluded_with_their_reason(results, name):
    _, _, result = results[name]
    exclusions = result.exclusions
    for wanted in read_table(DATA / f"{name}_exclusions.csv").to_dict("records"):
        match = exclusions[
            (exclusions["source"] == wanted["source"])
            & (exclusions["source_key"].astype(str) == wanted["source_key"])
        ]
        assert not match.empty, f"{wanted['source']} {wanted['source_key']} is not excluded"
        assert match["reason"].str.contains(wanted["reason"], regex=False).any(), (
            f"{wanted}: excluded for {list(match['reason'])}"
        )


@pytest.mark.parametrize("name", ["eastmoor", "northfen"])
def test_steps_finished_before_the_period_are_not_even_extracted(results, name):
    _, frames, result = results[name]
    # Cedric's Care Act assessment completed on 20/09/2024, and his day care line that ended
    # on 31/08/2024: the templates leave them out, so they are neither output nor excluded.
    assert 90000901 not in set(frames["steps"]["workflow_step_id"].astype(int))
    assert 90000951 not in set(frames["services"]["provision_id"].astype(int))
    # ... but they are counted, with the reason the database left them out.
    table = result.reconciliation
    left_out = table[table["outcome"] == "left out in the database"]
    for source in ("steps", "services"):
        assert left_out.loc[left_out["source"] == source, "rows"].sum() > 0, source
        assert (left_out.loc[left_out["source"] == source, "reason"] != "").all()


@pytest.mark.parametrize(
    ("name", "lookup", "code"),
    [
        ("eastmoor", "ethnicity", "WEUR"),
        ("westvale", "ethnicity", "C9"),
        ("northfen", "ethnicity", "WEUR"),
    ],
)
def test_codes_left_unmapped_on_purpose_are_reported(results, name, lookup, code):
    _, _, result = results[name]
    unmapped = result.unmapped
    assert ((unmapped["lookup"] == lookup) & (unmapped["code"] == code)).any(), unmapped


def test_event_references_are_stable_from_one_quarter_to_the_next(examples_dir, results):
    """The same event has the same reference in the June and September returns (guidance,
    Event Reference), including services whose lines were split by uplifts."""
    for name in EXAMPLES:
        _, _, september = results[name]
        _, _, june = run_example(examples_dir, name, ReportingPeriod.ending(date(2025, 6, 30)))
        key = ["LA Person Unique Identifier", "Client Type", "Event Type", "Event Start Date"]
        key += ["Service Type", "Service Component", "Assessment Type"]
        both = june.cld.merge(september.cld, on=key, suffixes=("_june", "_september"))
        both = both[both["Event Type"] != ""]
        unique = ~both.duplicated(key, keep=False)
        both = both[unique]
        assert len(both) > 50
        changed = both[both["Event Reference_june"] != both["Event Reference_september"]]
        assert changed.empty, changed[key + ["Event Reference_june"]].head().to_string()


def test_northfen_holds_its_own_codes_not_eastmoors(examples_dir, results):
    """The third authority passes on its mapping alone: its database shares no local code
    with the templates' defaults (Eastmoor's), and its person IDs are text."""
    from sqlalchemy import create_engine, text

    _, frames, result = results["northfen"]
    assert frames["people"]["person_id"].astype(str).str.fullmatch(r"N\d+").all()
    assert result.cld["LA Person Unique Identifier"].str.fullmatch(r"N\d+").all()
    engine = create_engine(f"sqlite:///{examples_dir / 'northfen.db'}")
    try:
        with engine.connect() as conn:
            questions = {
                r[0]
                for r in conn.execute(text("SELECT question_user_code FROM dm_cached_form_answers"))
            }
            statuses = {
                r[0] for r in conn.execute(text("SELECT step_status FROM dm_workflow_steps"))
            }
            step_types = {
                r[0]
                for r in conn.execute(
                    text("SELECT workflow_step_type_id FROM dm_workflow_step_types")
                )
            }
    finally:
        engine.dispose()
    assert not questions & {"ROUTE_OF_ACCESS", "METHOD", "ELIGIBILITY", "FA_OUTCOME"}
    assert not statuses & {"COMPLETED", "CANCELLED"}
    assert not step_types & {1000, 1101, 1103, 1107}
