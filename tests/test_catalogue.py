"""The rule catalogue (`cldetl rules`, docs/rules.md): every check has an entry, every entry has
a check and a test case, and the committed Markdown is what the command prints."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.spec import load_spec
from cldetl.validate.catalogue import catalogue, catalogue_text

ROOT = Path(__file__).resolve().parents[1]
# Where rules are given: the validator's checks, the DLP file writer, the national preview.
CHECK_SOURCES = [
    *sorted((ROOT / "cldetl" / "validate" / "checks").glob("*.py")),
    *sorted((ROOT / "cldetl" / "publish").glob("*.py")),
    *sorted((ROOT / "cldetl" / "national").rglob("*.py")),
    ROOT / "cldetl" / "onboarding" / "run_checks.py",  # a run's own warnings (issue 18)
]
RULE_ID = re.compile(r"""["']((?:header|type|list|cross|period|outcome|privacy|file|dlp|"""
                     r"""national|run)\.[a-z0-9_]+)["']""")  # fmt: skip


def rules_in_code() -> set[str]:
    """Rule ids the checks name, plus those they build from the spec: one per row of the spec's
    rule tables (checks/rows.py) and `type.<type>` for each type a field uses (checks/types.py).
    """
    spec = load_spec()
    found = set()
    for path in CHECK_SOURCES:
        found |= set(RULE_ID.findall(path.read_text(encoding="utf-8")))
    found |= {row.rule for row in spec.row_rules}
    found |= {f"type.{f.type}" for f in spec.fields if not f.is_defined_list}
    return found


def rules_in_tests() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    return set(re.findall(r"""["']([a-z_]+\.[a-z0-9_]+)["']""", text))


def test_every_check_has_a_catalogue_entry():
    codes = {e["code"] for e in catalogue(load_spec())}
    # type.date / type.text are named in checks/types.py; the spec types all reach a rule.
    assert rules_in_code() - codes == set()


def test_every_entry_has_a_check_and_a_test_case():
    codes = {e["code"] for e in catalogue(load_spec())}
    assert codes - rules_in_code() == set(), "catalogue entries no check gives"
    assert codes - rules_in_tests() == set(), "catalogue entries no test names"


def test_every_entry_says_where_it_comes_from():
    for e in catalogue(load_spec()):
        assert e["source"] in ("CLD guidance", "DLP guide", "DHSC method", "cldetl"), e
        assert (e["source"] == "cldetl") == e["code"].startswith("run."), e
        assert e["message"] and e["section"], e
        if e["code"].startswith("dlp."):
            assert e["source"] == "DLP guide"
        if e["code"].startswith("national."):
            assert e["source"] == "DHSC method"
    by_code = {e["code"]: e for e in catalogue(load_spec())}
    assert by_code["dlp.bom"]["nationally"] == "DLP rejects"
    assert by_code["header.dropped"]["nationally"] == "DLP rejects"
    assert by_code["list.release1"]["nationally"] == "DHSC flags"


def test_docs_rules_md_is_the_generated_catalogue():
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == catalogue_text(load_spec(), "markdown"), (
        "docs/rules.md is stale: run `cldetl rules --format markdown > docs/rules.md`"
    )


@pytest.mark.parametrize("fmt", ["text", "csv", "markdown"])
def test_rules_command_lists_every_rule(fmt):
    result = CliRunner().invoke(cli, ["rules", "--format", fmt])
    assert result.exit_code == 0
    for code in load_spec().rules:
        assert code in result.output
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert len(rows) == len(load_spec().rules)
        assert list(rows[0]) == ["code", "severity", "message", "source", "section", "nationally"]
        bom = next(r for r in rows if r["code"] == "dlp.bom")
        assert bom == {
            "code": "dlp.bom",
            "severity": "error",
            "message": "The file starts with a UTF-8 byte order mark",
            "source": "DLP guide",
            "section": "DLP data sender user guide: General information",
            "nationally": "DLP rejects",
        }


# --- pinned behaviour of single checks --------------------------------------------------------


def test_release1_values_differing_only_in_case_are_release1_not_near_misses():
    """checks/lists.py looks up the exact Release 1 value before the case-insensitive near miss:
    'Service User' is the Release 1 spelling of 'Service user' and must say so."""
    from cldetl.validate.checks.lists import classify, loose_key

    spec = load_spec()
    case_only = [
        r
        for r in spec.release1_values
        if any(loose_key(r.release1) == loose_key(v) for v in spec.field(r.field).values)
    ]
    assert len(case_only) >= 10  # 'Service User', 'Progress to Reablement/ST-Max', ...
    for r in case_only:
        rule, message = classify(spec, spec.field(r.field), r.release1)
        assert rule == "list.release1", r
        assert "Release 1 value" in message, r
    rule, message = classify(spec, spec.field("Client Type"), "Service User")
    assert (rule, message) == (
        "list.release1",
        "Client Type 'Service User' is a Release 1 value; Release 2 uses 'Service user'.",
    )
