"""The report as a person sees it: opened in a real headless browser (Debian's `chromium`).

Reading the HTML text proves what is in the file; this proves what a browser makes of it with
no network: the DOM after loading (status, authority and period, the findings table, the
charts' SVG) and a screenshot whose pixels hold the status colour and the chart bars. The
screenshot is kept in out/test-artifacts/ for a person to look at. Without chromium the test is
skipped on a developer's machine, and fails in CI (where `.ci/run` installs it).
"""

from __future__ import annotations

import csv
import html as html_module
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cldetl.pipeline import run
from examples.mosaic_liquidlogic.generate import build_database
from tests.test_report_page import UNMAPPED, make_report, sample_rows

ARTIFACTS = Path(__file__).parent.parent / "out" / "test-artifacts"
WINDOW = (1280, 2600)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run must install it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _browse(
    chromium: str, page: Path, profile: Path, *mode: str, window: tuple[int, int] = WINDOW
) -> subprocess.CompletedProcess:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def png_pixels(data: bytes):
    """The pixels of an 8-bit RGB or RGBA PNG (chromium's screenshots) as an (h, w, 3) array.

    A small decoder (zlib and the five PNG row filters) so that checking a screenshot needs no
    imaging library.
    """
    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour_type = header[:4]
    assert depth == 8 and colour_type in (2, 6) and header[6] == 0, header
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # sub: a running sum per channel
            row = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint64)
            row = (row % 256).astype(np.uint8).reshape(stride)
        elif kind == 2:
            row = line + previous
        else:
            values, up, row_list = line.tolist(), previous.tolist(), [0] * stride
            for i in range(stride):
                left = row_list[i - channels] if i >= channels else 0
                if kind == 3:
                    row_list[i] = (values[i] + (left + up[i]) // 2) & 255
                    continue
                corner = up[i - channels] if i >= channels else 0
                p = left + up[i] - corner
                pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
                row_list[i] = (values[i] + best) & 255
            row = np.array(row_list, dtype=np.uint8)
        out[y] = row
        previous = row
    return out.reshape(height, width, channels)[:, :, :3]


def colour_count(pixels, rgb: str) -> int:
    """How many pixels have exactly this colour."""
    import numpy as np

    wanted = np.frombuffer(bytes.fromhex(rgb.lstrip("#")), dtype=np.uint8)
    return int((pixels == wanted).all(axis=2).sum())


def test_a_browser_shows_status_authority_period_charts_and_findings(tmp_path):
    chromium = _chromium()
    _, report, files = make_report(tmp_path)
    page = files[0]

    dom = _browse(chromium, page, tmp_path / "profile-dom", "--dump-dom").stdout
    assert 'class="status status-red"' in dom
    assert "Red: not ready to submit" in dom
    assert "Sampleshire &lt;Council&gt; (LA code 999)" in dom
    assert "1 October 2024 to 30 September 2025" in dom
    assert dom.count("<svg ") == 2 and dom.count("<rect ") >= 12
    assert "<img" not in dom  # the hostile Gender stayed text
    assert '<th scope="col">First lines</th>' in dom
    assert "list.value" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    _browse(chromium, page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000
    pixels = png_pixels(shot.read_bytes())
    assert colour_count(pixels, "#fbe9eb") > 5_000  # the red status panel, drawn
    assert colour_count(pixels, "#1f5fa8") > 500  # this quarter's bars, drawn
    assert colour_count(pixels, "#9aa5b1") > 500  # last quarter's bars, drawn
    assert report.errors


# --- issue 20 point 3: the report shows what it claims, on a two-quarter history -----------

VIEWPORT = (1366, 3000)
# Measured in the browser: the page gets this script (in a copy without its CSP), which writes
# what it found into the DOM that --dump-dom prints.
MEASURE = """<script>
window.addEventListener('load', () => {
  const out = {viewport: window.innerWidth, wide: [], blank: [], tables: 0};
  for (const t of document.querySelectorAll('table')) {
    out.tables += 1;
    const box = t.getBoundingClientRect();
    if (box.right > window.innerWidth + 0.5 || box.width > window.innerWidth)
      out.wide.push((t.id || t.querySelector('th').textContent) + ':' + box.width);
    for (const row of t.querySelectorAll('tbody tr')) {
      if (!row.cells[0].textContent.trim()) out.blank.push(t.id || 'table');
    }
  }
  for (const label of document.querySelectorAll('svg text[text-anchor="end"]'))
    if (!label.textContent.trim()) out.blank.push('chart label');
  const swings = document.querySelector('#swings-table');
  out.swing_rows = swings ? swings.querySelectorAll('tbody tr').length : null;
  out.rules = Array.from(document.querySelectorAll('#rules-table tbody tr')).map(
    r => [r.cells[1].textContent, Number(r.cells[2].textContent.replace(/,/g, ''))]);
  const unmapped = document.querySelector('#unmapped-table');
  out.unmapped_rows = unmapped ? unmapped.querySelectorAll('tbody tr').length : null;
  out.links = Array.from(document.querySelectorAll('#status a')).map(
    a => [a.textContent, a.getAttribute('href'),
          !!document.querySelector(a.getAttribute('href'))]);
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _quarter(path: Path, period: tuple[str, str], drop_types=(), ethnicity=None) -> Path:
    header, rows = sample_rows()
    kept = [r for r in rows if r["Event Type"] not in drop_types]
    for r in kept:
        r["Reporting Period Start Date"], r["Reporting Period End Date"] = period
    if ethnicity:
        kept[0]["Ethnicity"] = ethnicity
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(kept)
    return path


def _reconciliation() -> pd.DataFrame:
    """A reconciliation shaped like the transform's (cldetl.transform.ledger): LA code and
    period on every row, totals and detail lines, long reasons and source names."""
    from cldetl.transform.ledger import RECONCILIATION_COLUMNS

    reason = (
        "excluded: filter 'open_services_only' (service_provision.status_code in "
        "('CLOSED','CANCELLED','DELETED_IN_ERROR','SUPERSEDED_BY_REVIEW'))"
    )
    rows = []
    for source in ("mosaic_service_provision_detail_v2", "liquidlogic_assessment_outcomes"):
        totals = [1_234_567, 12_345, 1_222_222, 1_100_000, 22_222, 100_000, 0]
        rows.append(["999", "2024-10-01", "2025-09-30", source, "total", *totals, "", "", None])
        for outcome in ("in output", "excluded", "left out in the database"):
            rows.append(
                ["999", "2024-10-01", "2025-09-30", source, "detail"]
                + [None] * 7
                + [outcome, reason, 123_456]
            )
    frame = pd.DataFrame(rows, columns=RECONCILIATION_COLUMNS)
    for column in frame.columns[5:12].tolist() + ["rows"]:
        frame[column] = frame[column].astype("Int64")
    return frame


def _history_report(folder: Path, previous_period: tuple[str, str]):
    from cldetl.report.compare import compare_returns
    from cldetl.report.page import write_report
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    folder.mkdir(parents=True, exist_ok=True)
    # Last quarter had no reviews and no assessments: this quarter's are swings.
    previous = _quarter(folder / "previous.csv", previous_period, ("Review", "Assessment"))
    current = _quarter(folder / "cld_999_20250930.csv", ("01/10/2024", "30/09/2025"))
    table = read_cld_csv(current)
    report = validate(table)
    comparison = compare_returns(previous, current)
    reconciliation = _reconciliation()
    files = write_report(
        folder / "report",
        table=table,
        report=report,
        authority="Sampleshire Council",
        la_code="999",
        period_start=date(2024, 10, 1),
        period_end=date(2025, 9, 30),
        run_date=date(2025, 10, 14),
        unmapped=UNMAPPED,
        reconciliation=reconciliation,
        comparison=comparison,
    )
    return comparison, files


def _measured(chromium: str, page: Path, folder: Path, name: str) -> tuple[dict, str]:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe = page.with_name("measure.html")
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _browse_at(
        chromium, probe, folder / f"profile-{name}", "--virtual-time-budget=3000", "--dump-dom"
    ).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    shot = folder / f"{name}.png"
    _browse_at(chromium, page, folder / f"profile-{name}-shot", f"--screenshot={shot}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / shot.name)  # out/ is git-ignored
    return json.loads(html_module.unescape(found.group(1))), dom


def _browse_at(chromium: str, page: Path, profile: Path, *mode: str):
    return _browse(chromium, page, profile, *mode, window=VIEWPORT)


def test_the_report_shows_what_its_banner_claims_on_a_two_quarter_history(tmp_path):
    from cldetl.report.page_sections import swings
    from cldetl.spec import load_spec

    chromium = _chromium()
    comparison, files = _history_report(tmp_path / "two", ("01/07/2024", "30/06/2025"))
    measured, dom = _measured(chromium, files[0], tmp_path, "report-two-quarters")

    flagged = len(swings(comparison))
    assert flagged == comparison.flagged > 0
    banner = {text: (href, there) for text, href, there in measured["links"]}
    swing_text = f"{flagged:,} count(s) changed more than expected since last quarter."
    assert banner[swing_text] == ("#swings", True)
    assert measured["swing_rows"] == flagged  # the banner's count, row for row
    assert banner["1 source code(s) the mapping does not know (see Unmapped codes)."] == (
        "#unmapped",
        True,
    )
    assert measured["unmapped_rows"] == len(UNMAPPED)
    warnings = sum(n for severity, n in measured["rules"] if severity == "warning")
    assert warnings > 0 and banner[f"{warnings:,} warning(s) to review before submitting."] == (
        "#findings",
        True,
    )
    assert measured["viewport"] == VIEWPORT[0]
    assert measured["tables"] >= 6 and measured["wide"] == [], measured["wide"]
    assert measured["blank"] == [], measured["blank"]
    # LA code and period said once above the reconciliation, not on each row.
    reconciliation = dom[dom.index('id="reconciliation"') :]
    assert "Every row: LA code 999, period start 1 October 2024" in reconciliation
    assert "2024-10-01" not in reconciliation
    # No value of a personal field, defined-list values included (Ethnicity).
    for value in load_spec().field("Ethnicity").values:
        assert html_module.escape(value, quote=False) not in dom, value


def test_a_comparison_with_no_month_in_common_says_so_and_shows_no_empty_tables(tmp_path):
    chromium = _chromium()
    comparison, files = _history_report(tmp_path / "old", ("01/10/2023", "30/09/2024"))
    assert comparison.months == []
    measured, dom = _measured(chromium, files[0], tmp_path, "report-nothing-to-compare")
    assert "Nothing to compare: the earlier run covers other months" in dom
    assert "it found 1 October 2023 to 30 September 2024" in dom
    assert "against last quarter" not in dom
    assert 'id="swings"' not in dom and measured["swing_rows"] is None
    assert dom.count("<svg ") == 1  # this file's counts only: no empty comparison chart
    assert "<td>Unpaid carer known by association (no event)</td>" in dom  # named, not blank
    assert measured["blank"] == [] and measured["wide"] == []
    for table in re.findall(r"<tbody>(.*?)</tbody>", dom, re.S):
        assert "<tr>" in table  # no header-only table


# --- issue 17 point 3: "What DHSC will see" in a run's report, against last quarter's run ----

NATIONAL_PROBE = """<script>
window.addEventListener('load', () => {
  const section = document.querySelector('#national');
  const out = {present: !!section};
  if (section) {
    const box = section.getBoundingClientRect();
    out.shown = box.height > 0 && getComputedStyle(section).display !== 'none';
    out.heading = section.querySelector('h2').textContent;
    out.text = section.innerText;
    const rows = t => Array.from(t ? t.querySelectorAll('tbody tr') : []).map(
      r => Array.from(r.cells).map(c => c.innerText.trim()));
    const tables = section.querySelectorAll('table');
    out.fates = rows(tables[1]);
    out.measures = rows(tables[2]);
    out.last_quarter = rows(section.querySelector('#national-last-quarter-table'));
    out.moved = Array.from(section.querySelectorAll('h4')).map(h => h.textContent);
  }
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _national_in_browser(chromium: str, page: Path, folder: Path) -> dict:
    """What a browser shows of the page's "What DHSC will see" section (the page is copied
    without its CSP, with a script that writes what it found into the DOM)."""
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text("utf-8"))
    probe = folder / "national-probe.html"
    probe.write_text(html.replace("</body>", NATIONAL_PROBE + "</body>"), encoding="utf-8")
    dom = _browse_at(
        chromium, probe, folder / "profile-national", "--virtual-time-budget=3000", "--dump-dom"
    ).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html_module.unescape(found.group(1)))


def test_a_runs_report_shows_what_dhsc_will_see_against_last_quarter(tmp_path, monkeypatch):
    """Two quarters of the Eastmoor example (a fictional authority, its illustrative
    population): September's report, opened in a browser, shows DHSC's period and flags, what
    happens to each row, the measures with their rates, and each measure against June's run
    with the flagged ones and the records that moved them."""
    chromium = _chromium()
    url = f"sqlite:///{tmp_path / 'eastmoor.db'}"
    build_database("mosaic", url, people=3000, seed=2025)
    monkeypatch.setenv("EASTMOOR_DB_URL", url)
    # Eastmoor's mapping as it is, but for a swing threshold of 10% (the mapping's
    # `comparison`), so that a measure of this seeded example is flagged.
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "connectors").symlink_to(root / "connectors")
    (tmp_path / "mappings").mkdir()
    mapping = tmp_path / "mappings" / "eastmoor.yaml"
    text = (root / "mappings" / "eastmoor.yaml").read_text(encoding="utf-8")
    mapping.write_text(text + "\ncomparison: {swing_threshold_percent: 10}\n", encoding="utf-8")
    run(mapping, tmp_path / "out", date(2025, 6, 30), html_report=True)
    september = run(mapping, tmp_path / "out", date(2025, 9, 30), html_report=True)
    preview = json.loads((september.run_dir / "national_preview.json").read_text("utf-8"))
    measures = json.loads((september.run_dir / "national_measures.json").read_text("utf-8"))

    shown = _national_in_browser(chromium, september.run_dir / "report.html", tmp_path)
    assert shown["present"] and shown["shown"], "the report has no 'What DHSC will see' section"
    assert shown["heading"] == "What DHSC will see"
    period = preview["reporting_period"]
    stated = "{2:}/{1:}/{0:}".format(*period["stated"][0].split("-"))
    assert f"Stated {stated} to 30/09/2025; DHSC would derive" in shown["text"]
    flags = (
        "yes" if period["gap_flag"] else "no",
        "yes" if period["missing_event_type_flag"] else "no",
    )
    assert f"Gap flag: {flags[0]}. Missing event type flag: {flags[1]}." in shown["text"]
    # Every fate with rows (kept, dropped, merged, end date set), and all rows, as counted.
    fates = {c["label"]: c["rows"] for c in preview["fates"]["counts"].values() if c["rows"]}
    assert len(fates) >= 2 and any(label.startswith("dropped") for label in fates)
    assert shown["fates"] == [
        *([label, f"{n:,}"] for label, n in fates.items()),
        ["All rows", f"{preview['fates']['rows']:,}"],
    ]
    # The measures, rates per 100,000 from the mapping's (illustrative) population.
    figures = {(r[0], r[1]): r for r in shown["measures"]}
    assert len(figures) == len(measures["figures"])
    rate = next(f for f in measures["figures"] if f["measure"] == "ASCOF 2C")
    assert figures[("ASCOF 2C", "65 and above")][2:] == [
        str(rate["numerator"]),
        str(rate["denominator"]),
        f"{rate['value']} per 100,000",
    ]
    assert "Illustrative figures for Eastmoor, a fictional authority" in shown["text"]
    # Against last quarter: a row per figure, the flag where the JSON has one, the records.
    assert "Compared with the earlier run 2025-06-30/run-0001-" in shown["text"]
    assert "A measure that moves more than 10% is flagged." in shown["text"]
    compared = {(m["measure"], m["group"]): m for m in measures["against_previous"]}
    assert [(r[0], r[1]) for r in shown["last_quarter"]] == list(compared)
    flagged = [(r[0], r[1]) for r in shown["last_quarter"] if r[5]]
    assert flagged and flagged == [k for k, m in compared.items() if m["flagged"]]
    assert shown["moved"] == [f"The records that moved {m} ({g})" for m, g in flagged]
    assert "Counted now, not last quarter:" in shown["text"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-national.png"
    shot.unlink(missing_ok=True)
    _browse(chromium, september.run_dir / "report.html", tmp_path / "profile-national-shot",
            f"--screenshot={shot}", window=(1280, 12000))  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 10_000
