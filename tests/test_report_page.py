"""The report for analysts and managers: report.html and findings.xlsx.

Built from the 30-row sample with hostile values planted (markup in a coded field, a closing
script tag in free text, formula-like identifiers), a comparison with last quarter (a small fake
with the attributes of `cldetl.report.compare`'s result), unmapped codes and a reconciliation.
"""

from __future__ import annotations

import csv
import re
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cldetl.report.page import Status, rag_status, write_report
from cldetl.report.workbook import safe_row

SAMPLE = Path(__file__).parent.parent / "examples" / "sample" / "cld_sample_2025q3.csv"
HOSTILE_GENDER = "<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "</script><script>alert(2)</script>"
FORMULA_REFERENCE = '=HYPERLINK("evil.example","x")'
FORMULA_PERSON = "@SUM(1+1)"
RESOURCE = re.compile(
    r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.I,
)


def sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_sample(path: Path, changes: dict[int, dict[str, str]]) -> Path:
    header, rows = sample_rows()
    for index, fields in changes.items():
        rows[index].update(fields)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


HOSTILE = {
    2: {"Gender": HOSTILE_GENDER},
    4: {"Event Description": HOSTILE_TEXT},
    6: {"Event Reference": FORMULA_REFERENCE, "Gender": "Femal"},
    8: {"LA Person Unique Identifier": FORMULA_PERSON, "Gender": "female"},
}


def fake_comparison():
    """The attributes write_report reads from cldetl.report.compare's comparison (duck typed)."""
    by_type = pd.DataFrame(
        {
            "event_type": ["Request", "Assessment", "Service", "Review"],
            "previous": [10, 8, 12, 3],
            "current": [9, 7, 10, 4],
            "change_percent": [-10.0, -12.5, -16.7, 33.3],
            "flagged": [False, False, False, True],
        }
    )
    by_month = pd.DataFrame(
        {
            "event_type": ["Request", "Request", "Service", "Service"],
            "month": ["2024-10", "2024-11", "2024-10", "2024-11"],
            "previous": [5, 5, 6, 6],
            "current": [4, 5, 5, 5],
            "change_percent": [-20.0, 0.0, -16.7, -16.7],
            "flagged": [False, False, False, False],
        }
    )
    by_service = pd.DataFrame(
        {
            "service_type": ["Long Term Support: Community", "Short Term Support: ST-Max"],
            "previous": [7, 5],
            "current": [6, 4],
            "change_percent": [-14.3, -20.0],
            "flagged": [False, False],
        }
    )
    changes = pd.DataFrame({"field": ["Event End Date", "Gender"], "changed_events": [3, 1]})
    return SimpleNamespace(
        months=["2024-10", "2024-11"],
        by_event_type=by_type,
        by_event_type_month=by_month,
        by_service_type=by_service,
        field_changes=changes,
        previous_period=SimpleNamespace(start=date(2024, 7, 1), end=date(2025, 6, 30)),
        current_period=SimpleNamespace(start=date(2024, 10, 1), end=date(2025, 9, 30)),
    )


UNMAPPED = pd.DataFrame(
    {
        "lookup": ["gender"],
        "field": ["Gender"],
        "source": ["people"],
        "column": ["sex"],
        "code": ["<b>X</b>"],
        "rows": [2],
        "used_instead": [""],
    }
)
RECONCILIATION = pd.DataFrame(
    {"source": ["events", "people"], "rows": [40, 25], "in_output": [30, 0], "excluded": [10, 25]}
)


def make_report(folder: Path, changes=HOSTILE, **kwargs):
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    table = read_cld_csv(write_sample(folder / "cld_999_20250930.csv", changes))
    report = validate(table)
    arguments = {
        "table": table,
        "report": report,
        "authority": "Sampleshire <Council>",
        "la_code": "999",
        "period_start": date(2024, 10, 1),
        "period_end": date(2025, 9, 30),
        "run_date": datetime(2025, 10, 14, 9, 30, tzinfo=UTC),
        "unmapped": UNMAPPED,
        "reconciliation": RECONCILIATION,
        "comparison": fake_comparison(),
    } | kwargs
    files = write_report(folder / "report", **arguments)
    return table, report, files


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    table, report, files = make_report(folder)
    return table, report, files, files[0].read_text(encoding="utf-8")


def test_the_report_writes_the_page_and_the_workbook_owner_only(hostile):
    _, _, files, _ = hostile
    assert [f.name for f in files] == ["report.html", "findings.xlsx"]
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_the_page_names_authority_period_run_date_and_status_before_anything_else(hostile):
    _, report, _, page = hostile
    assert report.errors  # the planted Gender values are errors
    assert (
        "<title>CLD return report: Sampleshire &lt;Council&gt;, "
        "1 October 2024 to 30 September 2025</title>" in page
    )
    authority = page.index('id="authority">Sampleshire &lt;Council&gt; (LA code 999)')
    period = page.index('id="period">1 October 2024 to 30 September 2025')
    run_date = page.index('id="run-date">14 October 2025, 09:30 UTC')
    status = page.index('class="status status-red"')
    first_finding = page.index('id="event-types"')
    assert authority < period < run_date < status < first_finding
    assert "Red: not ready to submit" in page
    assert f"{report.errors} error(s): the national portal would reject this file" in page


def test_the_page_loads_nothing_and_runs_nothing(hostile):
    _, _, _, page = hostile
    assert "http://" not in page and "https://" not in page
    assert not RESOURCE.search(page)
    assert "<script" not in page.lower()
    assert "default-src 'none'" in page


def test_hostile_values_are_escaped(hostile):
    _, _, _, page = hostile
    assert HOSTILE_GENDER not in page
    # Gender is a Person Details field: its value is hidden from messages, even escaped.
    assert "&lt;img src=x onerror=alert(1)&gt;" not in page
    assert "(personal data, not shown)" in page
    assert "</script>" not in page
    assert "<b>X</b>" not in page and "&lt;b&gt;X&lt;/b&gt;" in page  # an unmapped code
    assert "Sampleshire <Council>" not in page


def test_the_page_lists_findings_by_rule_with_line_event_reference_and_person_id(hostile):
    table, report, _, page = hostile
    for rule in report.findings["rule"].unique():
        assert f"<code>{rule}</code>" in page
    gender = report.findings[report.findings["column"].eq("Gender")]
    assert len(gender) == 3
    frame = table.frame.set_index(pd.Index(table.lines))
    # One row per rule and field, with its count and its first lines and identifiers.
    assert '<td>Gender</td><td class="n">' in page
    for line in gender["line"]:
        reference = frame.loc[line, "Event Reference"]
        person = frame.loc[line, "LA Person Unique Identifier"]
        assert f"line {line} ({_escaped(reference)}, {_escaped(person)})" in page


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_no_personal_value_appears_on_the_page(hostile):
    table, _, _, page = hostile
    for column in ("First Name", "Last Name", "NHS Number", "Postcode", "Date of Birth"):
        for value in table.frame[column]:
            if value and len(value) > 3:
                assert f">{_escaped(value)}<" not in page, column


def test_the_comparison_is_charted_as_inline_svg(hostile):
    _, _, _, page = hostile
    assert page.count("<svg ") == 2  # by event type, by month
    assert page.count("<figcaption>") == 2
    assert "1 July 2024 to 30 June 2025" in page  # the previous period, in the legend
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', page)
    assert len(bars) >= 8 + 4  # 4 types x 2 periods, 2 months x 2 periods (legend swatches too)
    assert "check" in page  # the flagged swing (Review)
    assert "Long Term Support: Community" in page
    assert "changed_events".replace("_", " ").capitalize() in page


def test_unmapped_codes_and_reconciliation_are_shown(hostile):
    _, _, _, page = hostile
    unmapped = page[page.index('id="unmapped"') : page.index('id="reconciliation"')]
    assert "sex" in unmapped and '<td class="n">2</td>' in unmapped
    reconciliation = page[page.index('id="reconciliation"') :]
    assert '<td class="n">40</td>' in reconciliation and "people" in reconciliation


def test_the_workbook_lists_every_finding_with_line_and_event_reference(hostile):
    from openpyxl import load_workbook

    table, report, files, _ = hostile
    book = load_workbook(files[1])
    assert book.sheetnames[:3] == ["Summary", "Findings by rule", "Findings"]
    # Then the national preview: each row's fate, the measures, a sheet per measure (issue 17).
    assert "ASCOF 3D1a Total" in book.sheetnames
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Authority"] == "Sampleshire <Council>"
    assert summary["Reporting period"] == "1 October 2024 to 30 September 2025"
    assert summary["Status"] == "Red: not ready to submit"
    assert summary["Errors"] == report.errors
    rows = list(book["Findings"].iter_rows(values_only=True))
    assert rows[0] == (
        "Line",
        "Event Reference",
        "LA Person ID",
        "Column",
        "Rule",
        "Severity",
        "Message",
    )
    assert len(rows) - 1 == len(report.findings)
    frame = table.frame.set_index(pd.Index(table.lines))
    listed = {(r[0], r[4], r[3]) for r in rows[1:]}
    for line, column, rule in report.findings[["line", "column", "rule"]].itertuples(index=False):
        assert (line, rule, column) in listed
    for r in rows[1:]:
        if r[0] is not None and r[4] != "privacy.identifier":
            assert r[1] == (frame.loc[r[0], "Event Reference"] or None)


def test_formula_like_values_stay_text_in_the_workbook(hostile):
    from openpyxl import load_workbook

    _, _, files, _ = hostile
    book = load_workbook(files[1])
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value: c for c in cells if isinstance(c.value, str)}
    assert values[FORMULA_REFERENCE].data_type == "s"
    assert values[FORMULA_REFERENCE].quotePrefix
    assert values[FORMULA_PERSON].quotePrefix


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("=1+2", True),
        ("+44 20", True),
        ("-5", True),
        ("@SUM(A1)", True),
        ("\t=1", True),
        ("Female", False),
        ("a=b", False),
    ],
)
def test_cells_that_excel_could_read_as_a_formula_are_quoted(value, quoted):
    from openpyxl import Workbook

    sheet = Workbook(write_only=True).create_sheet("x")
    (cell,) = safe_row(sheet, [value])
    assert getattr(cell, "quotePrefix", False) is quoted
    assert (cell.value if quoted else cell) == value


def _report(errors=0, warnings=0):
    return SimpleNamespace(errors=errors, warnings=warnings)


@pytest.mark.parametrize(
    ("report", "unmapped", "flagged", "colour"),
    [
        (_report(), None, False, "green"),
        (_report(), UNMAPPED.iloc[0:0], False, "green"),
        (_report(warnings=2), None, False, "amber"),
        (_report(), UNMAPPED, False, "amber"),
        (_report(), None, True, "amber"),
        (_report(errors=1), None, False, "red"),
        (_report(errors=1, warnings=5), UNMAPPED, True, "red"),
    ],
)
def test_status_is_red_for_errors_amber_for_things_to_review_green_otherwise(
    report, unmapped, flagged, colour
):
    comparison = fake_comparison()
    if not flagged:
        comparison.by_event_type["flagged"] = False
    status = rag_status(report, unmapped, comparison)
    assert isinstance(status, Status)
    assert status.colour == colour
    assert status.reasons


def test_a_clean_file_is_green_and_a_report_without_a_run_says_what_it_does_not_know(tmp_path):
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv
    from tests.conftest import ASSESSMENT, REQUEST, REVIEW, row, write_rows

    table = read_cld_csv(
        write_rows(tmp_path / "clean.csv", [row(), row(REQUEST), row(ASSESSMENT), row(REVIEW)])
    )
    report = validate(table)
    assert report.errors == 0 and report.warnings == 0
    files = write_report(
        tmp_path / "report",
        table=table,
        report=report,
        authority="Sampleshire",
        la_code="999",
        period_start="2024-10-01",
        period_end="2025-09-30",
        run_date=date(2025, 10, 14),
    )
    page = files[0].read_text(encoding="utf-8")
    assert 'class="status status-green"' in page and "Green: ready to submit" in page
    assert "No findings: the file meets the CLD Release 2 specification." in page
    assert page.count("<svg ") == 1  # this file's counts by event type
    assert page.count("Not known: this report was made from a CLD file") == 2
    assert 'id="run-date">14 October 2025<' in page


def test_warnings_only_are_amber(tmp_path):
    _, report, files = make_report(tmp_path, changes={}, unmapped=None, comparison=None)
    page = files[0].read_text(encoding="utf-8")
    assert report.errors == 0 and report.warnings
    assert 'class="status status-amber"' in page
    assert f"{report.warnings} warning(s) to review before submitting." in page


def test_a_run_of_the_pipeline_reports_the_mappings_authority_and_the_transforms_accounts(
    tmp_path,
):
    """write_run_report takes the pieces a pipeline run has (mapping, period, transform
    result), so wiring it into `cldetl run` is one call."""
    from cldetl.report.page import write_run_report
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    table = read_cld_csv(write_sample(tmp_path / "cld.csv", {}))
    files = write_run_report(
        tmp_path / "report",
        mapping=SimpleNamespace(metadata=SimpleNamespace(la_name="Eastmoor", la_code="990")),
        period=SimpleNamespace(start=date(2024, 10, 1), end=date(2025, 9, 30)),
        result=SimpleNamespace(unmapped=UNMAPPED, reconciliation=RECONCILIATION),
        table=table,
        report=validate(table),
        run_date=date(2025, 10, 14),
    )
    page = files[0].read_text(encoding="utf-8")
    assert 'id="authority">Eastmoor (LA code 990)' in page
    assert "Source codes the mapping has no CLD value for." in page
    assert '<td class="n">40</td>' in page


def test_cldetl_validate_report_writes_the_report_from_the_file_alone(tmp_path):
    """`cldetl validate FILE --report DIR`: LA code and period come from the file's columns;
    Great Expectations is not run (nor imported) unless --technical-appendix is given."""
    import subprocess
    import sys

    path = write_sample(tmp_path / "cld.csv", {2: {"Gender": HOSTILE_GENDER}})
    code = (
        "import sys; from cldetl.cli import cli\n"
        "try:\n"
        f'    cli(["validate", {str(path)!r}, "--report", {str(tmp_path / "r")!r}])\n'
        "except SystemExit as exit:\n"
        "    print('exit', exit.code, 'great_expectations' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "exit 1 False"
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["findings.xlsx", "report.html"]
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="authority">LA code 999</dd>' in page
    assert 'id="period">1 October 2024 to 30 September 2025' in page
    assert HOSTILE_GENDER not in page


def test_cells_show_missing_values_blank_numbers_grouped_and_flags_as_check():
    from cldetl.report.tables import cells

    values = [pd.NA, None, float("nan"), 1234, 2.5, True, False, "x"]
    assert cells(values) == ["", "", "", "1,234", "2.5", "check", "", "x"]


def test_chart_labels_are_one_short_line_and_bars_scale_to_the_largest_value():
    from cldetl.report.charts import LABEL_CHARS, PLOT_WIDTH, bar_chart

    chart = bar_chart("t", ["Service\x1b[2J" + "x" * 80, "Review"], {"a": [10, 5], "b": [None, 20]})
    first, second = chart.groups
    assert "\x1b" not in first.label and len(first.label) == LABEL_CHARS
    assert [b.width for b in first.bars] == [PLOT_WIDTH / 2]  # None draws no bar
    assert [b.width for b in second.bars] == [PLOT_WIDTH / 4, PLOT_WIDTH]


def _findings_frame(rows):
    from cldetl.report.findings import FINDING_FIELDS

    frame = pd.DataFrame(rows, columns=list(FINDING_FIELDS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


def test_the_workbook_continues_on_another_sheet_past_excels_row_limit(monkeypatch):
    """Excel holds 1,048,576 rows a sheet; more findings continue on 'Findings (2)' and on."""
    import io

    from openpyxl import load_workbook

    import cldetl.report.workbook as workbook
    from cldetl.report.book import findings_section

    monkeypatch.setattr(workbook, "SHEET_ROWS", 2)
    monkeypatch.setattr(workbook, "CHUNK_ROWS", 1)  # rows streamed in several pieces too
    rows = [[n, f"E{n}", f"P{n}", "Gender", "list.value", "error", f"m{n}"] for n in range(2, 7)]
    handle = io.BytesIO()
    workbook.write_workbook(
        handle,
        [
            workbook.Section("Summary", ["Item", "Value"], [("Authority", "X")]),
            findings_section(_findings_frame(rows)),
        ],
    )
    book = load_workbook(io.BytesIO(handle.getvalue()))
    found = [n for n in book.sheetnames if not n.startswith("ASCOF")]  # measures: issue 17
    assert found == ["Summary", "Findings", "Findings (2)", "Findings (3)"]
    listed = [r for name in found[1:] for r in book[name].iter_rows(min_row=2, values_only=True)]
    assert listed == [tuple(r) for r in rows]
    assert all(book[n]["A1"].value == "Line" and book[n]["A1"].font.b for n in found[1:])


def test_workbook_text_round_trips_markup_line_breaks_and_blank_cells():
    import io
    import zipfile
    from xml.dom.minidom import parseString

    from openpyxl import load_workbook

    from cldetl.report.book import findings_section
    from cldetl.report.workbook import write_workbook

    rows = [
        [None, "", "<b>&amp;</b>", None, "file.rule", "warning", "two\nlines \ufffe end "],
        [3, " x", "=1+1", "Gender", "list.value", "error", "-5"],
    ]
    handle = io.BytesIO()
    write_workbook(handle, [findings_section(_findings_frame(rows))])
    with zipfile.ZipFile(io.BytesIO(handle.getvalue())) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                parseString(archive.read(name))  # well-formed
    sheet = load_workbook(io.BytesIO(handle.getvalue()))["Findings"]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert values == [
        (None, None, "<b>&amp;</b>", None, "file.rule", "warning", "two\nlines ? end "),
        (3, " x", "=1+1", "Gender", "list.value", "error", "-5"),
    ]
    assert sheet["C3"].data_type == "s" and sheet["C3"].quotePrefix
    assert sheet["G3"].quotePrefix and not sheet["B3"].quotePrefix


def test_the_same_inputs_give_byte_identical_reports(tmp_path):
    """Reruns are compared byte for byte (issue 11): nothing in either file may depend on the
    time it was written, only on the run date given."""
    import time

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_report(tmp_path / "a")[2]
    time.sleep(2.1)  # zip archives record times to two seconds
    second = make_report(tmp_path / "b")[2]
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_messages_show_no_defined_list_value_of_a_personal_field(tmp_path):
    """Ethnicity is a Person Details field: a near miss's message would name the list entry
    (all but the person's value), so neither the value nor any list entry is shown."""
    from cldetl.spec import load_spec

    _, report, files = make_report(tmp_path, {2: {"Ethnicity": "White British"}})
    assert report.findings["column"].eq("Ethnicity").any()
    page = files[0].read_text(encoding="utf-8")
    findings = page[page.index('id="findings"') :]
    assert "<td>Ethnicity</td>" in findings
    assert "White British" not in page
    for value in load_spec().field("Ethnicity").values:
        assert _escaped(value) not in findings, value


def test_the_report_on_a_file_reads_it_in_batches_never_whole(tmp_path, monkeypatch):
    """Issue 19 point 9: `validate --report` stays within validate's memory, so the report is
    gathered batch by batch (a whole-file read would hold every row at once)."""
    from click.testing import CliRunner

    import cldetl.cli.check
    import cldetl.report.page
    import cldetl.validate.csvfile
    from cldetl.cli import cli

    def whole_read(*args, **kwargs):
        raise AssertionError("the whole file was read into memory")

    for module in (cldetl.validate.csvfile, cldetl.report.page, cldetl.cli.check):
        monkeypatch.setattr(module, "read_cld_csv", whole_read, raising=False)
    path = write_sample(tmp_path / "cld.csv", HOSTILE)
    result = CliRunner().invoke(cli, ["validate", str(path), "--report", str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="period">1 October 2024 to 30 September 2025' in page
    assert f"({_escaped(FORMULA_REFERENCE)}, " in page  # identifiers found in their batch


def test_the_summary_of_a_file_in_batches_is_the_summary_of_the_table():
    from cldetl.report.file_summary import BY_ASSOCIATION_LABEL, from_file, from_table
    from cldetl.validate.csvfile import read_cld_csv

    table = read_cld_csv(SAMPLE)
    lines = table.lines[::3]
    whole = from_table(table, lines)
    batched = from_file(SAMPLE, lines, batch_bytes=512)  # many batches
    assert whole.facts == batched.facts
    assert whole.event_types.to_dict() == batched.event_types.to_dict()
    assert BY_ASSOCIATION_LABEL in whole.event_types.index and "" not in whole.event_types.index
    assert whole.identifiers.equals(batched.identifiers) and len(whole.identifiers) == len(lines)


def test_repeated_findings_are_one_row_per_rule_and_field_and_the_workbook_named_for_the_rest(
    tmp_path,
):
    from openpyxl import load_workbook

    from cldetl.report.page_sections import FIRST_LINES

    blank = {i: {"NHS Number": ""} for i in range(12)}
    _, report, files = make_report(tmp_path, blank)
    found = report.findings[report.findings["column"].eq("NHS Number")]
    rule = found["rule"].iloc[0]
    assert len(found) >= 12 and found["rule"].nunique() == 1
    n = len(found)
    page = files[0].read_text(encoding="utf-8")
    listed = page[page.index(f"<code>{rule}</code>: {n} finding(s)") :]
    listed = listed[: listed.index("</details>")]
    assert listed.count("<tr>") == 2  # the header and one row for the rule and field
    assert f'<td>NHS Number</td><td class="n">{n}</td>' in listed
    assert listed.count("line ") == FIRST_LINES
    assert f"The other {n - FIRST_LINES} finding(s) of this rule, one per row, are in " in listed
    assert "findings.xlsx (sheet Findings)" in listed
    sheet = load_workbook(files[1])["Findings"]
    assert sum(1 for r in sheet.iter_rows(min_row=2, values_only=True) if r[3] == "NHS Number") == n


def test_the_batched_summary_reads_a_windows_1252_file_as_validate_does(tmp_path):
    """A byte that is not UTF-8 in a late batch: the file is Windows-1252 from its start."""
    from cldetl.report.file_summary import from_file, from_table
    from cldetl.validate.csvfile import read_cld_csv

    path = write_sample(tmp_path / "cld.csv", {29: {"Event Reference": "Zoë-1"}})
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    table = read_cld_csv(path)
    lines = table.lines[-1:]
    batched = from_file(path, lines, batch_bytes=512)
    assert batched.identifiers["event_reference"].tolist() == ["Zoë-1"]
    assert batched.identifiers.equals(from_table(table, lines).identifiers)


def test_cldetl_validate_report_previews_the_file_in_the_same_read_as_validate(
    tmp_path, monkeypatch
):
    """Issue 19 point 9: `validate --report` validates and previews DHSC's processing in one
    read (`validate_and_preview`) and hands the preview to the report, which must not read the
    file again for it."""
    from click.testing import CliRunner

    import cldetl.report.national_section as section
    from cldetl.cli import cli

    def second_read(*args, **kwargs):
        raise AssertionError("the report previewed the file again")

    monkeypatch.setattr(section, "national_run", second_read)
    path = write_sample(tmp_path / "cld.csv", {})
    out = CliRunner().invoke(cli, ["validate", str(path), "--report", str(tmp_path / "r")])
    assert out.exit_code in (0, 1), out.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "What DHSC will see" in page
