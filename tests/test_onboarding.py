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
    raw = yaml.safe_load(text)
    assert raw["sources"]["steps"]["params"]["values"]["route_code_question"] == "ROUTE_OF_ACCESS"
    # What does not match this install yet is pointed out: the answer to a question code
    # that Northfen calls otherwise, and the step type ids the rules name.
    assert "#   steps.route_code: answer to route_code_question" in text
    # ... and the codes the parameter's column holds, where the default is not found.
    line = next(x for x in text.splitlines() if "steps.params.values.route_code_question" in x)
    assert "DEFAULT NOT FOUND" in line and "question_user_code in dm_cached_form_answers" in line
    assert re.search(r"Q_ROUTE: [\d,]+", line)
    assert re.search(r"steps\.step_type_id in the database: .*\b10 \(Adult contact\): \d+", text)
    assert "(not in the database: 1000, 1101" in text
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
