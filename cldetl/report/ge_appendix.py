"""The technical appendix: the Great Expectations cross-check of a CLD file, written as pages.

The three jobs live in three modules: `cldetl.report.ge_suite` plans the suite from the spec,
`cldetl.report.ge_run` runs it with GE and compares GE's counts with the native findings, and this
module writes the result: GE's Data Docs, made to render offline, and our own index page
(`cldetl/report/templates/technical.html.j2`) with the agreement table, linked from the analysts'
report (`cldetl.report.page`).

Offline and escaped: GE's pages load Bootstrap, jQuery and Font Awesome from public CDNs. Those
references are removed and a small local stylesheet linked instead, so the pages render the
same without a network (and never tell a CDN that someone is reading a report). Every value GE
shows from the file is either hidden (personal fields, free text, identifiers: the console's
rule) or, for coded fields, shown only when it holds no markup or control character
(`cldetl.report.ge_run`); our index page shows counts, never values, through an autoescaping
template.

The report folder can hold personal data, so everything written is owner-only.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cldetl.errors import UsageError
from cldetl.report.files import lock_down, private_dir, write_private
from cldetl.report.ge_run import DOCS_DIRNAME, Agreement, GeRun, agreement, native_count, run_ge
from cldetl.report.ge_suite import SuitePlan, build_suite, ge_frame
from cldetl.report.html import render_template
from cldetl.spec import load_spec

if TYPE_CHECKING:
    from cldetl.spec import Spec
    from cldetl.validate.csvfile import CldTable
    from cldetl.validate.findings import ValidationReport

__all__ = ["GeReport", "build_ge_report", "make_offline", "offline_page", "write_ge_report"]

DOCS_MARKER = ".cldetl-ge-report"
INDEX_PAGE = "index.html"
TEMPLATE = "technical.html.j2"
OFFLINE_CSS = "cldetl-offline.css"
# Tags that make a browser fetch from another host: stylesheet and icon links, scripts with a
# source (their inline companions need the libraries those load, so they go too), and any
# remaining absolute URL in an href or src (links out of the report are dropped as well: the
# appendix is read offline).
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_REMOTE_ATTRIBUTE = re.compile(
    r"\s(?:href|src|srcset|action|poster|data)\s*=\s*(?:\"\s*(?:https?:)?//[^\"]*\"|"
    r"'\s*(?:https?:)?//[^']*'|(?:https?:)?//[^\s>]*)",
    re.I,
)
_REMOTE_CSS = re.compile(r"@import[^;]*;|url\(\s*[\"']?\s*(?:https?:)?//[^)]*\)", re.I)


def offline_page(text: str, stylesheet: str) -> str:
    """A Data Docs page with every remote resource removed and `stylesheet` (a relative path to
    the local stylesheet) linked in their place."""
    text = _REMOTE_LINK.sub("", text)
    text = _SCRIPT.sub("", text)
    text = _REMOTE_ATTRIBUTE.sub("", text)
    text = _REMOTE_CSS.sub("", text)
    link = f'<link rel="stylesheet" href="{stylesheet}">'
    head = re.search(r"</head\s*>", text, re.I)
    if head:
        return text[: head.start()] + link + "\n" + text[head.start() :]
    return link + "\n" + text


def make_offline(docs_dir: Path) -> None:
    """Rewrite every page GE wrote under `docs_dir` to render offline (see `offline_page`)."""

    css = files("cldetl.report").joinpath("templates", OFFLINE_CSS).read_text(encoding="utf-8")
    write_private(docs_dir / OFFLINE_CSS, css)
    for page in docs_dir.rglob("*.html"):
        relative = os.path.relpath(docs_dir / OFFLINE_CSS, page.parent)
        text = page.read_text(encoding="utf-8")
        write_private(page, offline_page(text, Path(relative).as_posix()))


def _fresh_docs_dir(docs_dir: Path) -> None:
    """An empty, owner-only Data Docs directory; an older report of ours there is removed first
    (so pages of a previously checked file do not linger), anything else is left alone."""
    if docs_dir.exists():
        if not (docs_dir / DOCS_MARKER).exists():
            raise UsageError(
                f"{docs_dir} exists and was not written by cldetl; choose another --report "
                "folder or remove it."
            )
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(mode=0o700)
    os.chmod(docs_dir, 0o700)
    write_private(docs_dir / DOCS_MARKER, "Great Expectations Data Docs written by cldetl.\n")


@dataclass
class GeReport:
    """Everything a report run produced (for the CLI's summary line and for tests)."""

    index: Path
    plan: SuitePlan
    run: GeRun
    agreements: dict[tuple, Agreement]

    @property
    def disagreements(self) -> list[Agreement]:
        return [a for a in self.agreements.values() if not a.agrees]


def build_ge_report(
    table: CldTable,
    report: ValidationReport,
    out_dir: str | Path,
    *,
    back_link: str | None = None,
) -> GeReport:
    """`write_ge_report`, returning the suite plan, GE's outcomes and the agreement as well."""

    spec = load_spec()
    out = Path(out_dir).resolve()  # GE's file stores need an absolute folder
    private_dir(out)
    docs_dir = out / DOCS_DIRNAME
    _fresh_docs_dir(docs_dir)
    plan = build_suite(spec, table.header)
    frame = ge_frame(plan, table, spec)
    try:
        run = run_ge(plan, frame, docs_dir)
        make_offline(docs_dir)
    finally:
        lock_down(docs_dir)
    agreements = agreement(run.outcomes, report.findings)
    index = out / INDEX_PAGE
    page = render_index(spec, table, report, plan, run, agreements, out, back_link)
    write_private(index, page)
    return GeReport(index, plan, run, agreements)


def write_ge_report(
    table: CldTable,
    report: ValidationReport,
    out_dir: str | Path,
    *,
    back_link: str | None = None,
) -> Path:
    """Build the suite from the spec, validate `table.frame` with GE, build offline Data Docs
    into `out_dir/great_expectations/` and write `out_dir/index.html`; return the index path.
    `back_link`: a relative link from the index to the report it is the appendix of."""
    return build_ge_report(table, report, out_dir, back_link=back_link).index


# --- The index page ----------------------------------------------------------------------------


def _rel(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    return Path(os.path.relpath(path, base)).as_posix()


def render_index(
    spec: Spec,
    table: CldTable,
    report: ValidationReport,
    plan: SuitePlan,
    run: GeRun,
    agreements: dict[tuple, Agreement],
    out_dir: Path,
    back_link: str | None = None,
) -> str:
    """The appendix's index page: GE's verdicts beside the native findings, rule by rule.

    Counts only: no value from the file appears here, so the page can be shared more freely than
    the Data Docs next to it.
    """

    findings = report.findings
    mirrored = plan.mirrored_rules
    rules = []
    for rule, severity, count in report.by_rule().itertuples(index=False, name=None):
        meta = spec.rules.get(rule)
        if rule in mirrored:
            ge = "mirrored"
        elif rule in plan.skipped:
            ge = "skipped (missing column)"
        else:
            ge = "native only"
        rules.append(
            {
                "rule": rule,
                "severity": severity,
                "count": int(count),
                "section": meta.section if meta else "",
                "title": meta.title if meta else "",
                "ge": ge,
            }
        )
    expectations: list[dict[str, Any]] = []
    for number, o in enumerate(run.outcomes, start=1):
        a = agreements[o.plan.key]
        expectations.append(
            {
                "number": number,
                "type": o.expectation_type,
                "column": o.plan.column if o.plan.column is not None else "(table)",
                "rules": o.plan.rules,
                "where": o.plan.condition_text or "every row",
                "error": o.error,
                "success": "yes" if o.success else "no",
                "unexpected": "" if o.unexpected is None else o.unexpected,
                "ge_total": "" if a.ge is None else a.ge,
                "native_total": a.native,
                "agrees": a.agrees,
            }
        )
    native_only = [
        {
            "rule": rule,
            "title": spec.rules[rule].title,
            "reason": reason,
            "count": native_count(findings, (rule,), None),
        }
        for rule, reason in plan.native_only.items()
    ]
    links = []
    for label, path in (
        ("validation results", run.validation_page),
        ("expectation suite", run.suite_page),
        ("Data Docs home", run.docs_index),
    ):
        href = _rel(path, out_dir)
        if href:
            links.append((label, href))
    return render_template(
        TEMPLATE,
        file_name=Path(table.path).name,
        file_path=str(table.path),
        release=spec.release,
        report=report,
        agreeing=sum(1 for a in agreements.values() if a.agrees),
        checks=len(agreements),
        outcomes=len(run.outcomes),
        seconds=run.seconds,
        links=links,
        counts=report.counts,
        rules=rules,
        expectations=expectations,
        native_only=native_only,
        skipped=plan.skipped,
        back_link=back_link,
    )
