"""The Great Expectations appendix: a suite generated from the spec (ge_suite), GE agreeing with
native (ge_run), and pages that render offline and never show markup from the file (ge_report).

The pure tests check the suite generation (which expectation each spec rule becomes, and that
each rule's `when` condition, rewritten for GE as an OR of ANDs, selects exactly the rows the
native evaluator selects). The slow tests run GE once on a small file with known defects and
check that, for every expectation mirroring a native rule, GE's unexpected count equals the
native number of findings for that rule and column.
"""

from __future__ import annotations

import builtins
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.errors import UsageError
from cldetl.report.ge_appendix import write_ge_report
from cldetl.report.ge_run import Outcome, agreement
from cldetl.report.ge_suite import AGE_COLUMN, LIST_RULES, Literal, build_suite, dnf
from cldetl.spec import load_spec
from cldetl.spec.conditions import AgeBetween, FieldBlank, FieldIn, evaluate, walk
from tests.conftest import (
    ASSESSMENT,
    CARER_BY_ASSOCIATION,
    FINANCIAL_ASSESSMENT,
    REQUEST,
    RESIDENTIAL,
    REVIEW,
    UNPAID_CARER,
    row,
    write_rows,
)

SPEC = load_spec()


def plans_for(plan, rule: str, column: str | None = None):
    return [
        p for p in plan.expectations if rule in p.rules and (column is None or p.column == column)
    ]


# --- Suite generation (pure) -------------------------------------------------------------------


def test_every_defined_list_field_gets_one_in_set_expectation_with_exactly_the_spec_list():
    plan = build_suite(SPEC, SPEC.headers)
    lists = [f for f in SPEC.fields if f.is_defined_list]
    assert lists
    for f in lists:
        [p] = [q for q in plans_for(plan, "list.value", f.name)]
        assert p.expectation == "ExpectColumnValuesToBeInSet"
        assert p.rules == LIST_RULES
        assert p.kwargs == {"column": f.name, "value_set": list(f.values)}
        assert p.when is None


def test_mandatory_delivery_mechanism_is_not_null_under_a_row_condition():
    plan = build_suite(SPEC, SPEC.headers)
    [p] = plans_for(plan, "mandatory.delivery_mechanism")
    assert p.expectation == "ExpectColumnValuesToNotBeNull"
    assert p.kwargs == {"column": "Delivery Mechanism"}
    assert p.column == "Delivery Mechanism"
    assert p.severity == "error"
    # long_term_community_service: a service whose type is long term community support (the
    # property test below checks the rewrite row for row; here, that it reads the right values).
    [conj] = p.when
    assert Literal("Event Type", "in", ("Service",)) in conj
    assert Literal("Service Type", "in", ("Long term support: Community",)) in conj
    assert p.condition_text == SPEC.mandatory_for("Delivery Mechanism")[0].when.describe()


def test_each_row_rule_field_gets_the_expectation_of_its_table():
    plan = build_suite(SPEC, SPEC.headers)
    kinds = {
        "mandatory": "ExpectColumnValuesToNotBeNull",
        "not_applicable": "ExpectColumnValuesToBeNull",
        "expected": "ExpectColumnValuesToBeInSet",
    }
    for rule in SPEC.row_rules:
        found = plans_for(plan, rule.rule)
        assert [p.column for p in found] == list(rule.fields), rule.rule
        for p in found:
            assert p.expectation == kinds[rule.kind]
            assert p.severity == rule.severity
            assert p.when == dnf(rule.when)
            if rule.kind == "expected":
                assert p.kwargs["value_set"] == list(rule.values)


def test_date_fields_are_checked_for_shape_and_calendar_and_type_patterns_come_from_the_spec():
    plan = build_suite(SPEC, SPEC.headers)
    for f in SPEC.fields:
        found = plans_for(plan, f"type.{f.type}", f.name)
        if f.type == "date":
            kinds = sorted(p.expectation for p in found)
            assert kinds == [
                "ExpectColumnValuesToMatchRegex",
                "ExpectColumnValuesToMatchStrftimeFormat",
            ]
            regex = next(p for p in found if p.expectation.endswith("Regex"))
            assert regex.kwargs["regex"] == SPEC.pattern("date")
        elif f.type in ("integer", "numeric", "alphanumeric") and f.format is None:
            [p] = found
            assert p.kwargs["regex"] == SPEC.pattern(f.type)


def test_every_rule_is_either_mirrored_or_listed_as_native_only():
    plan = build_suite(SPEC, SPEC.headers)
    assert plan.skipped == {}
    assert set(SPEC.rules) <= plan.mirrored_rules | set(plan.native_only)
    for rule in ("type.nhs_number", "file.duplicate_row", "privacy.identifier", "header.order"):
        assert rule in plan.native_only
        assert rule not in plan.mirrored_rules
    # Release 1 values and near misses are counted with list.value, told apart natively only.
    assert {"list.release1", "list.near_miss"} <= set(plan.native_only) & plan.mirrored_rules


def test_rules_reading_a_missing_column_are_skipped_and_nothing_reads_it():
    header = [h for h in SPEC.headers if h != "Delivery Mechanism"]
    plan = build_suite(SPEC, header)
    assert all("Delivery Mechanism" not in p.needs for p in plan.expectations)
    assert all(
        lit.column != "Delivery Mechanism"
        for p in plan.expectations
        for conj in p.when or ()
        for lit in conj
    )
    assert "mandatory.delivery_mechanism" in plan.skipped
    assert "mandatory.costs" in plan.skipped  # costed_service reads Delivery Mechanism
    assert "Delivery Mechanism" in plan.skipped["mandatory.costs"]
    assert plans_for(plan, "header.missing")  # the table expectation reports the column
    assert plans_for(plan, "mandatory.event")  # rules on other columns stay


def test_employment_status_rule_uses_the_derived_age_column():
    plan = build_suite(SPEC, SPEC.headers)
    [p] = plans_for(plan, "mandatory.employment_status")
    [conj] = p.when
    assert Literal(AGE_COLUMN, ">=", (18,)) in conj
    assert Literal(AGE_COLUMN, "<=", (64,)) in conj
    assert plan.age
    without_dob = build_suite(SPEC, [h for h in SPEC.headers if h != "Date of Birth"])
    assert not without_dob.age
    assert "mandatory.employment_status" in without_dob.skipped


def test_data_docs_hide_the_values_the_console_hides():
    plan = build_suite(SPEC, SPEC.headers)

    def hidden(rule: str, column: str) -> bool:
        found = plans_for(plan, rule, column)
        assert found, (rule, column)
        return all(p.hide_values for p in found)

    assert hidden("type.date", "Date of Birth")  # personal
    assert hidden("type.postcode", "Postcode")  # personal
    assert hidden("type.text", "Event Description")  # free text
    assert hidden("type.alphanumeric", "LA Person Unique Identifier")  # identifier
    assert hidden("cross.event_after_death", "Event End Date")  # compares with Date of Death
    assert not hidden("list.value", "Gender")  # coded: the bad value helps
    assert not hidden("type.numeric", "Unit Cost")
    assert not hidden("cross.end_before_start", "Event End Date")


def test_agreement_is_computed_and_can_disagree():
    plan = build_suite(SPEC, SPEC.headers)
    [gender] = plans_for(plan, "list.value", "Gender")
    [start_shape, start_calendar] = plans_for(plan, "type.date", "Event Start Date")
    findings = pd.DataFrame(
        {
            "rule": ["list.value", "list.near_miss", "type.date", "type.date"],
            "column": ["Gender", "Gender", "Event Start Date", "Event Start Date"],
        }
    )
    outcomes = [
        Outcome(gender, "expect_column_values_to_be_in_set", False, 2),
        Outcome(start_shape, "expect_column_values_to_match_regex", False, 1),
        Outcome(start_calendar, "expect_column_values_to_match_strftime_format", True, 0),
    ]
    result = agreement(outcomes, findings)
    assert result[gender.key].agrees and result[gender.key].native == 2
    assert not result[start_shape.key].agrees  # 1 from GE against 2 native
    assert (result[start_shape.key].ge, result[start_shape.key].native) == (1, 2)
    errored = [Outcome(gender, "expect_column_values_to_be_in_set", None, None, "boom")]
    assert not agreement(errored, findings)[gender.key].agrees


# --- The OR-of-ANDs rewrite selects the rows the native evaluator selects ----------------------


def _condition_fields() -> dict[str, list[str]]:
    """Each field a spec condition reads, with values worth trying on it."""
    fields: dict[str, set[str]] = {}
    for cond in [r.when for r in SPEC.row_rules] + list(SPEC.conditions.values()):
        for node in walk(cond):
            if isinstance(node, FieldIn | FieldBlank):
                values = fields.setdefault(node.field, set())
                if isinstance(node, FieldIn):
                    values.update(node.values)
    # Blank and an off-list value; whitespace-only values are left out on purpose (the native
    # conditions compare raw text, GE sees whitespace-only as blank: see the module docs).
    return {name: sorted(values) + ["", "Other value"] for name, values in fields.items()}


CONDITION_FIELDS = _condition_fields()
ROW = st.fixed_dictionaries(
    {name: st.sampled_from(values) for name, values in CONDITION_FIELDS.items()}
    | {AGE_COLUMN: st.one_of(st.none(), st.integers(min_value=0, max_value=110))}
)


def _holds_dnf(when, frame: pd.DataFrame) -> pd.Series:
    """The rewritten condition evaluated the way GE's pandas engine does (blank is null)."""
    result = pd.Series(False, index=frame.index)
    for conj in when:
        part = pd.Series(True, index=frame.index)
        for lit in conj:
            col = frame[lit.column]
            if lit.op == "in":
                part &= col.isin(lit.values)
            elif lit.op == "not_in":
                part &= ~col.isin(lit.values)
            elif lit.op == "null":
                part &= col.isna()
            elif lit.op == "not_null":
                part &= col.notna()
            else:
                value = lit.values[0]
                cmp = {">=": col.ge, "<=": col.le, ">": col.gt, "<": col.lt}[lit.op](value)
                part &= cmp.fillna(False).astype(bool)
        result |= part
    return result


@settings(max_examples=30, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=12))
def test_rewritten_conditions_select_the_same_rows_as_native_evaluate(rows):
    raw = pd.DataFrame(rows)
    ages = raw[AGE_COLUMN].astype("Int64")
    text = {name: raw[name].astype("string[pyarrow]") for name in CONDITION_FIELDS}
    ge_view = pd.DataFrame({name: col.where(col.ne("")) for name, col in text.items()})
    ge_view[AGE_COLUMN] = ages
    conditions = [r.when for r in SPEC.row_rules] + list(SPEC.conditions.values())
    conditions.append(AgeBetween(None, 64))
    for cond in conditions:
        native = evaluate(cond, text.__getitem__, lambda: ages, len(raw))
        rewritten = _holds_dnf(dnf(cond), ge_view)
        assert native.astype(bool).tolist() == rewritten.tolist(), cond.describe()


def test_the_rewrite_drops_impossible_alternatives():
    # not (financial assessment) on a row that is an event: two alternatives, no contradiction.
    [rule] = [r for r in SPEC.mandatory if r.rule == "mandatory.event_outcome"]
    assert len(dnf(rule.when)) == 2
    # An assessment that is not an assessment never holds.
    assessment = SPEC.conditions["assessment"]
    from cldetl.spec.conditions import AllOf, Not

    assert dnf(AllOf((assessment, Not(assessment)))) == ()


# --- Import cost and refusing to clobber -------------------------------------------------------


def test_importing_the_module_does_not_import_great_expectations():
    code = (
        "import sys, cldetl.report.ge_appendix, cldetl.report.ge_run, cldetl.report.ge_suite, "
        "cldetl.report.page; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert out.stdout.strip() == "False"


def test_a_folder_not_written_by_cldetl_is_not_overwritten(tmp_path):
    (tmp_path / "great_expectations").mkdir()
    (tmp_path / "great_expectations" / "mine.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not written by cldetl"):
        write_ge_report(None, None, tmp_path)  # refused before the table is looked at
    assert (tmp_path / "great_expectations" / "mine.txt").read_text() == "keep me"


# --- Running Great Expectations ----------------------------------------------------------------

HOSTILE_GENDER = "<img src=x onerror=alert(1)>"
DEFECTS = {
    # Each row below has known problems; the comment names the native rule(s) it triggers.
    "bad_list_value": row(Gender="Femal"),  # list.value
    "release1_value": row(**{"Client Type": "Carer"}),  # list.release1 (+ conditions see it)
    "near_miss": row(Gender="female"),  # list.near_miss
    "blank_delivery_mechanism": row(**{"Delivery Mechanism": ""}),  # mandatory.delivery_mech.
    "whitespace_mandatory": row(**{"Delivery Mechanism": "   "}),  # blank is whitespace too
    "bad_date": row(**{"Date of Birth": "31/02/1950"}),  # type.date (calendar)
    "bad_date_shape": row(**{"Event Start Date": "1/4/2024"}),  # type.date (shape)
    "end_before_start": row(REQUEST, **{"Event End Date": "01/05/2025"}),  # cross.end_before_s.
    "employment_18_64": row(
        **{
            "Primary Support Reason": "Learning disability support",
            "Date of Birth": "01/01/1980",
        }
    ),  # mandatory.employment_status (age from the derived column)
    "text_line_break": row(**{"Event Description": "two\nlines"}),  # type.text
    "open_after_death": row(**{"Date of Death": "01/01/2025"}),  # cross.event_after_death
    "outcome_for_type": row(REVIEW, **{"Event Outcome": "Progress to reablement/ST-Max"}),
    "bad_postcode": row(Postcode="ln1 1yl"),  # type.postcode
    "event_type_with_space": row(**{"Event Type": "Service "}),  # near miss; not a service
    "carer_psr": row(UNPAID_CARER, **{"Primary Support Reason": "Mental health support"}),
    "by_association_with_event": row(CARER_BY_ASSOCIATION, **{"Event Reference": "X1"}),
    "bad_cost": row(**{"Unit Cost": "£24.50"}),  # type.numeric
    "markup_gender": row(Gender=HOSTILE_GENDER),  # list.value; never raw in any page
}
VALID = [
    row(),
    row(REQUEST),
    row(ASSESSMENT),
    row(FINANCIAL_ASSESSMENT),
    row(REVIEW),
    row(RESIDENTIAL),
    row(UNPAID_CARER),
    row(CARER_BY_ASSOCIATION),
]
FILE_NAME = "cld <return> & 'q2'.csv"  # escaped on the index page
RESOURCE = re.compile(
    r"""(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.I,
)


def _no_network(*args, **kwargs):
    raise AssertionError("the GE report tried to open a network connection")


@pytest.fixture(scope="module")
def ge_run(tmp_path_factory):
    """Validate the defect file natively, then build the GE report once, with no network."""
    from cldetl.report.ge_appendix import build_ge_report
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    folder = tmp_path_factory.mktemp("ge")
    path = write_rows(folder / FILE_NAME, VALID + list(DEFECTS.values()))
    table = read_cld_csv(path)
    report = validate(table)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        result = build_ge_report(table, report, folder / "report")
    return report, result


@pytest.mark.slow
def test_ge_unexpected_counts_equal_native_findings_for_every_mirrored_rule(ge_run):
    report, result = ge_run
    assert not [o for o in result.run.outcomes if o.error], "GE raised on an expectation"
    problems = [
        f"{a.rules} / {a.column}: GE {a.ge}, native {a.native}" for a in result.disagreements
    ]
    assert problems == []
    # The defects really were seen by both engines (the agreement is not 0 == 0 throughout).
    seen = {key: a for key, a in result.agreements.items() if a.native}
    expected_keys = {
        (LIST_RULES, "Gender"),
        (LIST_RULES, "Client Type"),
        (("mandatory.delivery_mechanism",), "Delivery Mechanism"),
        (("type.date",), "Date of Birth"),
        (("type.date",), "Event Start Date"),
        (("cross.end_before_start",), "Event End Date"),
        (("mandatory.employment_status",), "Employment Status"),
        (("type.text",), "Event Description"),
        (("cross.event_after_death",), "Event End Date"),
        (("outcome.event_type",), "Event Outcome"),
        (("type.postcode",), "Postcode"),
        (("expected.unpaid_carer_psr",), "Primary Support Reason"),
        (("not_applicable.carer_by_association",), "Event Reference"),
        (("type.numeric",), "Unit Cost"),
    }
    assert expected_keys <= set(seen)
    assert seen[(LIST_RULES, "Gender")].ge == 3  # 'Femal', 'female' and the markup
    assert seen[(("mandatory.delivery_mechanism",), "Delivery Mechanism")].ge == 2
    # Every native finding of a mirrored rule is covered by some expectation's key.
    mirrored = report.findings[report.findings["rule"].isin(result.plan.mirrored_rules)]
    covered = sum(a.native for a in result.agreements.values())
    assert covered == len(mirrored)


@pytest.mark.slow
def test_index_page_names_the_file_rules_and_links_the_data_docs(ge_run):
    report, result = ge_run
    index = result.index
    text = index.read_text(encoding="utf-8")
    assert "cld &lt;return&gt; &amp; &#39;q2&#39;.csv" in text
    assert "<return>" not in text
    for rule in report.findings["rule"].unique():
        assert f"<code>{rule}</code>" in text
    for rule in ("type.nhs_number", "file.duplicate_event"):
        assert rule in text  # listed as native only
    assert "native only" in text
    assert "Back to the report" not in text  # written alone, it is no report's appendix
    assert f"on {len(result.agreements)} of {len(result.agreements)} mirrored" in text
    assert result.run.validation_page is not None and result.run.validation_page.exists()
    assert result.run.docs_index is not None and result.run.docs_index.exists()
    href = result.run.validation_page.relative_to(index.parent).as_posix()
    assert f'href="{href}"' in text
    for label, counts in report.counts.items():
        assert label in text
        assert all(str(v) in text for v in counts.values())


@pytest.mark.slow
def test_report_files_are_owner_only_and_keep_personal_values_out_of_data_docs(ge_run):
    _, result = ge_run
    out = result.index.parent
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(result.index.stat().st_mode) == 0o600
    pages = []
    for dirpath, _dirs, files in os.walk(out / "great_expectations"):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath
        for name in files:
            path = Path(dirpath) / name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            if name.endswith(".html"):
                pages.append(path.read_text(encoding="utf-8"))
    docs = "\n".join(pages)
    assert "Femal" in docs  # a defined-list value is shown: it helps and is not personal
    for personal in ("31/02/1950", "ln1 1yl", "two\nlines"):
        assert personal not in docs
    assert "personal data, not shown" in docs


@pytest.mark.slow
def test_a_relative_report_folder_works(tmp_path, monkeypatch):
    """`cldetl validate FILE --report out/report --technical-appendix` as users type it (GE
    needs absolute paths)."""
    from click.testing import CliRunner

    from cldetl.cli import cli

    monkeypatch.chdir(tmp_path)
    sample = Path(__file__).parent.parent / "examples" / "sample" / "cld_sample_2025q3.csv"
    args = ["validate", str(sample), "--report", "out/report", "--technical-appendix"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report" / "report.html").is_file()
    assert (tmp_path / "out" / "report" / "findings.xlsx").is_file()
    page = (tmp_path / "out" / "report" / "report.html").read_text(encoding="utf-8")
    assert 'href="technical/index.html"' in page
    appendix = (tmp_path / "out" / "report" / "technical" / "index.html").read_text()
    assert '<a href="../report.html">Back to the report</a>' in appendix


@pytest.mark.slow
def test_every_page_renders_offline_and_no_page_shows_markup_from_the_file(ge_run):
    """GE's Data Docs load Bootstrap and jQuery from CDNs: cldetl removes every remote
    reference and links its own stylesheet; a Gender holding markup never appears raw."""
    _, result = ge_run
    out = result.index.parent
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 4  # our index, GE's home, suite and validation result pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not RESOURCE.search(text), (page, RESOURCE.search(text).group(0))
        assert "<script" not in text.lower(), page
        assert HOSTILE_GENDER not in text, page
        assert "onerror=alert" not in text.replace("onerror=alert(1)&gt;", ""), page
        if page != result.index:
            assert "cldetl-offline.css" in text, page
    assert (out / "great_expectations" / "cldetl-offline.css").is_file()
    validation = result.run.validation_page.read_text(encoding="utf-8")
    assert "value with markup or control characters, not shown" in validation


def test_offline_page_removes_remote_resources_and_links_the_local_stylesheet():
    from cldetl.report.ge_appendix import offline_page

    page = (
        '<html><head><link rel="stylesheet" href="https://cdn.example/bootstrap.css">'
        "<link href='//cdn.example/fa.css' rel=stylesheet>"
        '<script src="https://code.jquery.com/jquery.js"></script>'
        "<script>$(function () { x(); });</script>"
        "<style>@import url(https://fonts.example/a.css); .a { background: url(http://x/y.png) }"
        '</style></head><body><a href="https://greatexpectations.io">GX</a>'
        '<img src="http://x/y.png"><a href="validations/a.html">local</a></body></html>'
    )
    text = offline_page(page, "../cldetl-offline.css")
    assert not RESOURCE.search(text)
    assert "http" not in text
    assert "<script" not in text
    assert '<a href="validations/a.html">local</a>' in text
    assert '<link rel="stylesheet" href="../cldetl-offline.css">\n</head>' in text


def test_great_expectations_analytics_are_off_before_it_is_imported(monkeypatch):
    """GX_ANALYTICS_ENABLED is read when great_expectations is imported: it must be set first."""
    from cldetl.report.ge_run import _import_gx

    seen = []
    real_import = builtins.__import__

    def spy(name, *args, **kwargs):
        if name == "great_expectations":
            seen.append(os.environ.get("GX_ANALYTICS_ENABLED"))
            return SimpleNamespace(name="stand-in")
        return real_import(name, *args, **kwargs)

    monkeypatch.delenv("GX_ANALYTICS_ENABLED", raising=False)
    monkeypatch.setattr(builtins, "__import__", spy)
    assert _import_gx().name == "stand-in"
    assert seen == ["false"]


def test_only_the_function_that_switches_analytics_off_imports_great_expectations_first():
    """Every GE import in cldetl is in ge_run.py, and `run_ge` calls `_import_gx` before any
    other GE import (the others are in functions that run_ge calls afterwards)."""
    import inspect

    import cldetl
    from cldetl.report import ge_run

    package = Path(cldetl.__file__).parent
    importing = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if re.search(r"^\s*(?:import|from)\s+great_expectations", path.read_text(), re.M)
    }
    assert importing == {"report/ge_run.py"}
    source = inspect.getsource(ge_run.run_ge)
    first_gx = source.index("gx = _import_gx()")
    assert first_gx < source.index("import great_expectations")
    imports = re.findall(r"^\s*(?:import|from) great_expectations", inspect.getsource(ge_run), re.M)
    assert len(imports) == 1 + 2 + 1  # _import_gx, run_ge (after it), _ge_condition (from run_ge)


def test_without_great_expectations_the_appendix_says_how_to_install_it(monkeypatch):
    """Great Expectations is the `ge` extra: a missing install is a usage error (exit 2) that
    names the extra, never a traceback."""
    import sys

    from cldetl.errors import UsageError
    from cldetl.report import ge_run

    monkeypatch.setitem(sys.modules, "great_expectations", None)
    with pytest.raises(UsageError, match=r'pip install "cldetl\[ge\]"'):
        ge_run._import_gx()
