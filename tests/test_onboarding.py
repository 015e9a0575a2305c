"""Onboarding (issue 10.5): `cldetl init-mapping` writes a starter mapping from an authority's
own database; `cldetl profile` lists the codes a mapping does not map. Run on Northfen (its own
codes, text person IDs) and never showing a personal value."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.mapping import load_mapping
from cldetl.onboarding import profile_lookups, suggest
from cldetl.spec import load_spec
from examples.mosaic_liquidlogic.generate import build_database, build_frames

GENDERS = load_spec().field("Gender").values


@pytest.mark.parametrize(
    ("code", "example", "value", "how"),
    [
        ("female", {}, "Female", "exact"),  # the code spells a defined value
        ("F", {"F": "Female"}, "Female", "as in the example authority"),
        ("Fem", {}, "Female", "text match"),
        ("zz", {}, None, "weak text match"),  # a guess, marked weak (value not checked)
    ],
)
def test_a_suggestion_says_how_it_was_found(code, example, value, how):
    found = suggest(code, GENDERS, example)
    assert found.how.startswith(how)
    if value is not None:
        assert found.value == value
    assert found.value in GENDERS


def test_the_profile_counts_codes_and_marks_the_unmapped():
    mapping = load_mapping(Path(__file__).parent / "data" / "mapping_files" / "testshire.yaml")
    people = pd.DataFrame(
        {"person_id": [1, 2, 3, 4], "gender": ["F", "F", "M", "Q"]},
    )
    frames = {name: pd.DataFrame(columns=list(s.columns)) for name, s in mapping.sources.items()}
    frames["people"] = people.reindex(columns=list(mapping.sources["people"].columns))
    profile = profile_lookups(mapping, frames)
    gender = profile[profile["lookup"] == "gender"].set_index("code")
    assert gender.loc["F", "rows"] == 2 and gender.loc["F", "mapped"]
    assert gender.loc["Q", "rows"] == 1 and not gender.loc["Q", "mapped"]


@pytest.fixture(scope="module")
def northfen(tmp_path_factory):
    folder = tmp_path_factory.mktemp("northfen")
    url = f"sqlite:///{folder / 'northfen.db'}"
    build_database("northfen", url, people=40, seed=11)
    return folder, url


@pytest.mark.slow
def test_init_mapping_on_an_authority_with_its_own_codes(northfen, monkeypatch):
    folder, url = northfen
    monkeypatch.setenv("NEWLA_DB_URL", url)
    out = folder / "starter.yaml"
    args = ["init-mapping", "--system", "mosaic", "--la-code", "996", "--url-env", "NEWLA_DB_URL"]
    args += ["--out", str(out), "--period-end", "2025-09-30"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    mapping = load_mapping(out)  # it loads
    assert mapping.metadata.la_code == "996"
    assert mapping.connection.url_env == "NEWLA_DB_URL"
    # Text person IDs are seen in the data and typed as text.
    assert mapping.sources["people"].columns["person_id"] == "text"
    # Every lookup is pre-filled from the data, with counts and a marked suggestion.
    assert re.search(r"\n      F: Female  # [\d,]+ rows; suggested \(as in the example", text)
    # Northfen's own codes are found and written in place of the example's, each marked as a
    # suggestion with its evidence: the question code by its words and by its answers (the
    # codes the example's route lookup knows), the step type by its description.
    raw = yaml.safe_load(text)
    assert raw["sources"]["steps"]["params"]["values"]["route_code_question"] == "Q_ROUTE"
    line = next(x for x in text.splitlines() if "route_code_question:" in x)
    assert "# suggested: check (the example's ROUTE_OF_ACCESS is not in the database" in line
    assert "of its values are codes the example's lookups know" in line
    contact = next(r for r in raw["events"] if r["name"] == "contact")
    assert contact["when"] == {"column": "step_type_id", "in": [10]}
    assert re.search(r"- 10  # suggested: check .*\"Adult contact\"", text)
    # The lists of codes found stay, for checking: each parameter's column, each rule column.
    line = next(x for x in text.splitlines() if "steps.params.values.route_code_question" in x)
    assert "(present)" in line and re.search(r"Q_ROUTE: [\d,]+", line)
    assert re.search(r"steps\.step_type_id in the database: .*\b10 \(Adult contact\): \d+", text)
    lines = text.splitlines()
    named = lines[next(i for i, x in enumerate(lines) if "steps.step_type_id in the" in x) + 1]
    assert "the rules name: 10, " in named and "not in the database" not in named
    assert "# TODO:" not in text and "to do by hand" not in result.output
    assert "47 values named example codes the database does not hold" in result.output
    assert "# tests:" in text and "#   - name: conversation_1 gives Request and Assessment" in text
    # Neither the file nor the console holds a personal value.
    frames = build_frames("northfen", people=40, seed=11)
    names = frames["dm_person_names"]
    shown = text + result.output
    tokens = set(re.findall(r"[A-Za-z0-9']+", shown))
    found = (set(names["first_names"]) | set(names["last_name"])) & tokens
    numbers = set(frames["dm_person_references"]["reference"].astype(str))
    found |= {n for n in numbers if n in shown}
    found |= {p for p in frames["dm_addresses"]["post_code"].dropna() if p in shown}
    assert not found, sorted(found)[:5]


@pytest.mark.slow
def test_profile_lists_every_unmapped_code_with_its_count(northfen, monkeypatch, tmp_path):
    folder, url = northfen
    monkeypatch.setenv("NORTHFEN_DB_URL", url)
    root = Path(__file__).resolve().parents[1]
    raw = (root / "mappings" / "northfen.yaml").read_text()
    mapping_path = tmp_path / "northfen.yaml"
    mapping_path.write_text(raw.replace("      WBRI: ", "      WBRI_GONE: ", 1))
    result = CliRunner().invoke(
        cli, ["profile", "--mapping", str(mapping_path), "--period-end", "2025-09-30"]
    )
    assert result.exit_code == 1, result.output
    assert re.search(r"ethnicity \(Ethnicity\) <- people\.ethnicity_code: \d+ codes", result.output)
    assert re.search(r"NOT WBRI +\d+ +-> No data: Undeclared", result.output)
    assert re.search(r"NOT WEUR +\d+", result.output)  # left unmapped on purpose
    assert "not map" in result.output.splitlines()[-1]


def _code_filters(node, found=None) -> list:
    """Every {column, in/not_in} filter of a rule, in order, as (column, key, codes)."""
    found = [] if found is None else found
    if isinstance(node, dict):
        for key in ("in", "not_in"):
            if "column" in node and key in node:
                found.append((node["column"], key, [str(c) for c in node[key]]))
        for value in node.values():
            _code_filters(value, found)
    elif isinstance(node, list):
        for item in node:
            _code_filters(item, found)
    return found


@pytest.mark.slow
def test_the_starter_holds_northfens_own_codes_as_its_hand_written_mapping_does(
    northfen, monkeypatch
):
    """Every template parameter and every code an event rule or exclusion filters on, in the
    starter written from Northfen's database alone, is what mappings/northfen.yaml (written
    by hand) says."""
    folder, url = northfen
    monkeypatch.setenv("NEWLA_DB_URL", url)
    out = folder / "compare.yaml"
    args = ["init-mapping", "--system", "mosaic", "--la-code", "996", "--url-env", "NEWLA_DB_URL"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--period-end", "2025-09-30"])
    assert result.exit_code == 0, result.output
    starter = yaml.safe_load(out.read_text())
    by_hand = yaml.safe_load((Path(__file__).parents[1] / "mappings" / "northfen.yaml").read_text())
    compared = 0
    for name, source in by_hand["sources"].items():
        for key, value in ((source.get("params") or {}).get("values") or {}).items():
            assert starter["sources"][name]["params"]["values"][key] == value, (name, key)
            compared += 1
    assert compared >= 20
    for section in ("events", "exclusions"):
        mine = {r["name"]: _code_filters(r) for r in starter[section]}
        theirs = {r["name"]: _code_filters(r) for r in by_hand[section]}
        assert mine == theirs, section


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "system"),
    [("northfen", "mosaic"), ("mosaic", "mosaic"), ("liquidlogic", "liquidlogic")],
    ids=["northfen", "eastmoor", "westvale"],
)
def test_a_starter_runs_end_to_end_and_validates(example, system, tmp_path, monkeypatch):
    """Issue 10.5, done when: the starter written from an authority's database with only the
    system, the LA code and the URL variable, its suggestions accepted (they are written in
    place, so it is run as written), loads, runs end to end and validates with no errors."""
    import json

    url = f"sqlite:///{tmp_path / 'case.db'}"
    build_database(example, url, people=60, seed=5)
    monkeypatch.setenv("NEWLA_DB_URL", url)
    starter = tmp_path / "starter.yaml"
    args = ["init-mapping", "--system", system, "--la-code", "993", "--url-env", "NEWLA_DB_URL"]
    result = CliRunner().invoke(cli, [*args, "--out", str(starter), "--period-end", "2025-09-30"])
    assert result.exit_code == 0, result.output
    load_mapping(starter)
    out = tmp_path / "return"
    args = ["run", "--mapping", str(starter), "--period-end", "2025-09-30", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "2025-09-30" / "latest" / "validation.json").read_text())
    assert report["rows"] > 0
    assert report["errors"] == 0, [f["rule"] for f in report["findings"]][:10]


@pytest.mark.slow
def test_the_profile_of_a_starter_lists_each_code_left_unmapped_with_its_count(
    northfen, monkeypatch
):
    """Codes deleted from a starter's lookup (to keep them visible until someone decides) are
    each listed by the profile as not mapped, with the rows the database holds (counted here
    from the generator's own tables); the suggestion marks left are counted."""
    folder, url = northfen
    monkeypatch.setenv("NEWLA_DB_URL", url)
    out = folder / "profiled.yaml"
    args = ["init-mapping", "--system", "mosaic", "--la-code", "996", "--url-env", "NEWLA_DB_URL"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--period-end", "2025-09-30"])
    assert result.exit_code == 0, result.output
    counts = build_frames("northfen", people=40, seed=11)["dm_persons"]["full_ethnicity_code"]
    counts = counts.dropna().value_counts()
    dropped = list(counts.index[:2])
    lines = out.read_text().splitlines()
    start = lines.index("  ethnicity:")
    kept = [
        x
        for i, x in enumerate(lines)
        if not (i > start and any(x.startswith(f"      {c}: ") for c in dropped))
    ]
    assert len(kept) == len(lines) - len(dropped)
    out.write_text("\n".join(kept) + "\n")
    result = CliRunner().invoke(
        cli, ["profile", "--mapping", str(out), "--period-end", "2025-09-30"]
    )
    assert result.exit_code == 1, result.output
    for code in dropped:
        assert re.search(rf"NOT {code} +{counts[code]:,}  -> ", result.output), code
    assert f"\n{len(dropped)} code(s) found that the mapping does not map." in result.output
    assert re.search(r"\d+ value\(s\) still marked '# suggested: check'", result.output)


# A LiquidLogic install set up otherwise than Westvale: (table, column, Westvale's code, its own).
LIQUIDLOGIC_RECODED = [
    ("forms", "form_type", "ASSESS_ST", "ST_ASSESSMENT"),
    ("forms", "form_type", "ASSESS_LT", "CARE_ACT_ASSESSMENT"),
    ("forms", "form_type", "FIN", "FINANCE"),
    ("forms", "form_type", "S42", "SAFEGUARDING"),
    ("forms", "form_type", "CARER_ASSESS", "CARERS_ASSESSMENT"),
    ("forms", "status", "COMPLETE", "AUTHORISED"),
    ("forms", "status", "CANCELLED", "VOID"),
    ("contacts", "status", "CANCELLED", "WITHDRAWN"),
    ("contacts", "contact_type", "CARER", "UNPAID_CARER"),
    ("service_agreements", "status", "SUSPENDED", "ON_HOLD"),
    ("form_answers", "question", "METHOD", "HOW_DONE"),
    ("form_answers", "question", "ELIGIBILITY", "ELIG_DECISION"),
    ("form_answers", "question", "FIN_OUTCOME", "FIN_RESULT"),
]


@pytest.mark.slow
def test_a_liquidlogic_install_with_its_own_codes_gets_a_starter_that_validates(
    tmp_path, monkeypatch
):
    import json

    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'case.db'}"
    build_database("liquidlogic", url, people=60, seed=5)
    engine = create_engine(url)
    with engine.begin() as conn:
        held = set()
        for table, column in {(t, c) for t, c, _, _ in LIQUIDLOGIC_RECODED}:
            held |= {
                str(v) for (v,) in conn.execute(text(f"SELECT DISTINCT {column} FROM {table}"))
            }
        for table, column, old, new in LIQUIDLOGIC_RECODED:
            conn.execute(
                text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                {"new": new, "old": old},
            )
    engine.dispose()
    monkeypatch.setenv("NEWLA_DB_URL", url)
    starter = tmp_path / "starter.yaml"
    args = ["init-mapping", "--system", "liquidlogic", "--la-code", "992"]
    args += ["--url-env", "NEWLA_DB_URL", "--out", str(starter), "--period-end", "2025-09-30"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    written = starter.read_text()
    for _, _, old, new in LIQUIDLOGIC_RECODED:
        assert re.search(
            rf"\b{new}  # suggested: check \(the example's {old} is not in the database", written
        ), (old, new)
    # An example code this small install never used (no mental capacity assessment yet) is
    # kept, with a TODO in the file and on the console; none of the recoded ones is.
    todo = re.findall(r"- (\S+)  # TODO: \S+ \(the example's\) is not in ", written)
    assert not set(todo) & held
    for code in todo:
        assert re.search(rf"^    .*: {code}$", result.output, flags=re.M), code
    out = tmp_path / "return"
    args = ["run", "--mapping", str(starter), "--period-end", "2025-09-30", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "2025-09-30" / "latest" / "validation.json").read_text())
    assert report["rows"] > 0 and report["errors"] == 0
