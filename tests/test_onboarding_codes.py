"""Finding an install's own local codes for the example's (cldetl/onboarding/local_codes.py):
scoring a code against what the example's code means, one code for one code, and how the starter
writes what was found (the example's code kept, marked unchecked with the likely code) or not
(the example's code with a TODO)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cldetl.onboarding.local_codes import (
    Candidates,
    Kind,
    Meaning,
    assign,
    load_meanings,
    text_fit,
)
from cldetl.onboarding.marks import marks_in
from cldetl.onboarding.reference import thresholds
from cldetl.onboarding.starter_codes import Marks, with_codes

GOOD_FIT = thresholds().good_fit


@pytest.mark.parametrize(
    ("words", "candidate", "good"),
    [
        ("route of access", "Q_ROUTE", True),  # a word of the meaning
        ("carer hours", "Q_CARER_HRS", True),  # an abbreviation
        ("at first contact", "Q_FIRSTCONTACT", True),  # words run together
        ("employment status", "EMP_STATUS", True),  # the start of a word
        ("on hold", "ON_HOLD", True),
        ("Adult contact", "10 Adult contact", True),  # a step type id and its description
        ("Conversation 1 (listen and connect)", "22 Conversation 2 (work in crisis)", False),
        ("completed", "IN_PROGRESS", False),
        ("method", "Q_HOW_HELD", False),  # words alone cannot tell: see the fingerprint test
        # The borderline, in mappings/meanings/thresholds.yaml: 0.40 is named, 0.22 is not.
        ("how carried out", "Q_HOW_HELD", True),
    ],
)
def test_a_code_fits_the_words_of_what_the_example_code_means(words, candidate, good):
    assert (text_fit(words, candidate) >= GOOD_FIT) is good


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_fit_is_between_0_and_1_and_the_same_both_ways(a, b):
    assert 0.0 <= text_fit(a, b) <= 1.0
    assert text_fit(a, b) == pytest.approx(text_fit(b, a))


@given(st.from_regex(r"[A-Za-z]{2,12}( [A-Za-z0-9]{1,8}){0,3}", fullmatch=True))
def test_a_text_fits_itself(text):
    assert text_fit(text, text) == pytest.approx(1.0)


KIND = Kind(
    name="questions",
    where={"table": "answers", "column": "question"},
    codes={
        "METHOD": Meaning("METHOD", ["METHOD", "method", "method of assessment"]),
        "ROUTE": Meaning("ROUTE", ["ROUTE", "route of access"]),
        "ELIGIBILITY": Meaning("ELIGIBILITY", ["ELIGIBILITY", "eligibility"]),
        "HOURS": Meaning("HOURS", ["HOURS", "carer hours"]),
    },
)


def test_each_example_code_gets_one_code_and_values_tell_where_words_cannot():
    found = Candidates(
        counts={"Q_HOW_HELD": 70, "Q_ROUTE": 30, "Q_ELIG": 20, "Q_ROUTE_OLD": 2, "Q_X": 1},
        values={"Q_HOW_HELD": {"SU", "JOINT"}, "Q_X": {"Y", "N"}},
    )
    expected = {"METHOD": {"SU", "JOINT", "CARER"}}
    result = {f.example: f for f in assign(KIND, ["METHOD", "ROUTE", "HOURS"], found, expected)}
    assert result["METHOD"].code == "Q_HOW_HELD"
    assert "100% of its values" in result["METHOD"].evidence
    assert result["ROUTE"].code == "Q_ROUTE"  # the better of two, and only once
    assert result["ROUTE"].rows == 30
    assert result["HOURS"].code is None  # nothing fits well enough: no guess
    assert "ELIGIBILITY" not in result  # held by the database under its own name: kept


def test_a_code_the_database_holds_is_never_given_to_another():
    kind = Kind(
        name="questions",
        where={"table": "answers", "column": "question"},
        codes={
            "ROUTE": Meaning("ROUTE", ["ROUTE", "route"]),
            "ROUTE_OF_ACCESS": Meaning("ROUTE_OF_ACCESS", ["ROUTE_OF_ACCESS", "route of access"]),
        },
    )
    assert text_fit("route of access", "ROUTE") >= GOOD_FIT  # it would fit, but is ROUTE's
    (result,) = assign(kind, ["ROUTE_OF_ACCESS"], Candidates(counts={"ROUTE": 5}), {})
    assert result.code is None


def test_the_good_fit_threshold_is_the_data_files_and_its_borderline_is_inclusive():
    assert GOOD_FIT == 0.4
    assert text_fit("how carried out", "Q_HOW_HELD") == pytest.approx(GOOD_FIT)
    kind = Kind("q", {"table": "a", "column": "q"}, codes={"M": Meaning("M", ["how carried out"])})
    (at,) = assign(kind, ["M"], Candidates(counts={"Q_HOW_HELD": 3}), {})
    assert at.code == "Q_HOW_HELD"  # exactly at the threshold: named (still unchecked)
    kind.codes["M"] = Meaning("M", ["how it was carried out in the end"])
    assert 0 < text_fit("how it was carried out in the end", "Q_HOW_HELD") < GOOD_FIT
    (below,) = assign(kind, ["M"], Candidates(counts={"Q_HOW_HELD": 3}), {})
    assert below.code is None and below.candidates == [("Q_HOW_HELD", 0.25)]  # still listed


def test_the_starter_keeps_the_examples_code_marked_with_the_likely_one_or_a_todo():
    kind = Kind(
        name="step_statuses",
        where={"table": "steps", "column": "step_status"},
        params=["funding.completed_status"],
        rules=["steps.step_status"],
        codes={
            "COMPLETED": Meaning("COMPLETED", ["COMPLETED", "finished"]),
            "CANCELLED": Meaning("CANCELLED", ["CANCELLED", "withdrawn"]),
        },
    )
    found = {
        "step_statuses": {
            f.example: f
            for f in assign(
                kind, ["COMPLETED", "CANCELLED"], Candidates(counts={"FINISHED": 9, "X": 1}), {}
            )
        }
    }
    sources = {"funding": {"params": {"values": {"completed_status": "COMPLETED"}}}}
    rules = {
        "events": [],
        "exclusions": [
            {
                "name": "cancelled",
                "sources": ["steps"],
                "when": {"column": "step_status", "in": ["CANCELLED"]},
            },
        ],
    }
    used_sources, used_rules = with_codes(sources, rules, [kind], found, None)  # the probe
    assert used_sources["funding"]["params"]["values"]["completed_status"] == "FINISHED"
    assert used_rules["exclusions"][0]["when"]["in"] == ["CANCELLED"]
    assert sources["funding"]["params"]["values"]["completed_status"] == "COMPLETED"  # a copy

    marks = Marks()
    written = with_codes(sources, rules, [kind], found, marks)
    text = marks.apply(yaml.safe_dump({"sources": written[0], **written[1]}, sort_keys=False))
    # Never the guess as the value: the example's code stays (it matches nothing here).
    assert (
        "completed_status: COMPLETED  # unchecked: the example's COMPLETED is not in the "
        "database; this install's code may be FINISHED" in text
    )
    assert "- CANCELLED  # TODO: CANCELLED (the example's) is not in the database" in text
    # The console lists the same candidates as the file's notes.
    assert marks.todo == ["rule filter steps.step_status: CANCELLED (candidates: none)"]
    assert marks.unchecked == [
        "sources.funding.params.values.completed_status: COMPLETED -> may be FINISHED "
        "(candidates: FINISHED 1.00)"
    ]
    assert "candidates: FINISHED 1.00" in text
    assert yaml.safe_load(text)["sources"]["funding"]["params"]["values"] == {
        "completed_status": "COMPLETED"
    }
    assert [m.kind for m in marks_in(text)] == ["unchecked", "todo"]


def test_marks_are_comments_starting_todo_or_unchecked_and_quoted_marks_are_not():
    text = (
        "a: COMPLETED  # unchecked: the example's ...\n"
        "b: VOID\n"
        '      # unchecked "A": 12 rows; weak text match: "White: Irish" 0.40\n'
        "      F: Female  # 12 rows; certain: as the example authority maps the same code\n"
        "# TODO: set the prefix\n"
        '# - "unchecked": a lookup code commented out ...\n'  # the header says what they are
        '# - "TODO": nothing was found\n'
    )
    assert [(m.line, m.kind) for m in marks_in(text)] == [
        (1, "unchecked"), (3, "unchecked"), (5, "todo")
    ]  # fmt: skip


@pytest.mark.parametrize("system", ["mosaic", "liquidlogic"])
def test_the_meanings_file_names_only_parameters_and_columns_that_exist(system):
    """Every parameter a meanings file names is a declared parameter of the example's source
    template, and every source column it names is one of that source's columns."""
    from pathlib import Path

    from cldetl.mapping import load_mapping
    from cldetl.mapping.template_declarations import declaration_for
    from cldetl.onboarding import REFERENCE_MAPPINGS

    root = Path(__file__).resolve().parents[1]
    mapping = load_mapping(root / "mappings" / REFERENCE_MAPPINGS[system])
    kinds = load_meanings(system)
    assert kinds
    for kind in kinds:
        for where in kind.params:
            source, name = where.split(".")
            assert name in declaration_for(mapping, source).of_kind("values"), where
        columns = list(kind.rules) + [m.feeds for m in kind.codes.values() if m.feeds]
        if "source" in kind.where:
            columns.append(f"{kind.where['source']}.{kind.where['column']}")
        for where in columns:
            source, column = where.split(".")
            assert column in mapping.sources[source].columns, where


def test_only_known_values_are_read_from_the_database_the_rest_only_counted():
    from sqlalchemy import create_engine, text

    from cldetl.onboarding.local_codes import table_candidates

    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE answers (question TEXT, answer TEXT)"))
        rows = [("Q1", "SU"), ("Q1", "JOINT"), ("Q1", "lives with her son"), ("Q2", "x")]
        rows += [("Q1", "SU"), (None, "SU"), ("Q2", None)]
        for question, answer in rows:
            conn.execute(text("INSERT INTO answers VALUES (:q, :a)"), {"q": question, "a": answer})
        where = {"table": "answers", "column": "question", "values": ["answer"]}
        found = table_candidates(conn, where, {"SU", "JOINT", "CARER"})
        assert table_candidates(conn, {"table": "nope", "column": "question"}, set()) is None
    assert found.counts == {"Q1": 4, "Q2": 2}
    assert found.values == {"Q1": {"SU", "JOINT"}}  # the free text was never read
    assert found.distinct == {"Q1": 3, "Q2": 1}
    assert found.share("Q1", {"SU", "JOINT", "CARER"}) == pytest.approx(2 / 3)
    assert found.share("Q2", {"SU", "JOINT", "CARER"}) == 0


def test_codes_of_a_kind_whose_column_is_not_found_are_kept_with_a_todo():
    from sqlalchemy import create_engine

    from cldetl.onboarding.local_codes import find_local_codes

    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        found, missing = find_local_codes([KIND], {"questions": ["METHOD"]}, conn, {}, {}, {})
    assert missing == ["questions"]
    (result,) = found["questions"].values()
    assert result.code is None and not result.checked
    assert result.evidence == "no codes found in answers.question"


def test_a_missing_or_unreadable_meanings_file_is_an_error_never_no_matches(tmp_path, monkeypatch):
    from cldetl.onboarding import reference
    from cldetl.onboarding.reference import OnboardingError

    (tmp_path / "meanings").mkdir()
    monkeypatch.setattr(reference, "_folder", lambda: tmp_path)
    with pytest.raises(OnboardingError, match=r"meanings/mosaic\.yaml: cannot be read"):
        load_meanings("mosaic")
    (tmp_path / "meanings" / "mosaic.yaml").write_bytes(b"\xff\xfe not text")
    with pytest.raises(OnboardingError, match="cannot be read"):
        load_meanings("mosaic")
