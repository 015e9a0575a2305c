"""Speed work on the run changes no byte of any file it publishes.

Issue 9 asks for a run at 1M CLD rows within 4x the I/O floor without changing a byte of the
output. The digests in tests/data/run_files_c14c081.json are of every file a run publishes
(the return, exclusions, reconciliation, unmapped codes, lineage, linked people left out,
validation.json; not the manifest, which holds the run's times) as cldetl at commit c14c081
wrote them, before the speed changes: the reference is the earlier code, never the code under
test. Each case is a generated authority (seeded) or the test authority with awkward names:
text the DLP writer must quote (commas, quotes), carry in Windows-1252 (Zoë), report (Łucja,
which Windows-1252 has no byte for) or transliterate, and the gzip and UTF-8 options.

A failure names the file; to see the difference, run the same case at c14c081 and diff. Only
an output change made on purpose (and said in the CHANGELOG) may replace the digests:
`python tests/test_run_files_unchanged.py` rewrites them with the code of the tree it runs in.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIGESTS = Path(__file__).parent / "data" / "run_files_c14c081.json"
PERIOD_END = date(2025, 9, 30)
NOT_COMPARED = {
    "manifest.json",  # the run's start and finish times
    # Added after c14c081 (issue 17, the national preview): no earlier bytes to compare with.
    "national_preview.json",
    "national_fates.csv",
    "national_measures.json",
    "national_measures_records.csv",
}
# Names the DLP writer must quote, carry, report or transliterate.
AWKWARD_NAMES = ['O\'Brien, "Jo"', "Zoë", "Łucja", "Anne-Marie\nSmith", "Đorđe"]
CASES = {
    # name: (authority, output options)
    "large_authority": ("large", None),
    "large_authority_awkward_names": ("large_awkward", None),
    "large_authority_transliterated": ("large_awkward", {"transliteration": "nfkd-latin"}),
    "large_authority_utf8_gzip": ("large_awkward", {"encoding": "utf-8", "gzip": True}),
    "testshire": ("testshire", None),
    "testshire_awkward_names": ("testshire_awkward", None),
    # The examples: chained service lines, dated details, exclusions of many kinds.
    "eastmoor": ("eastmoor", None),
    "westvale": ("westvale", None),
}
EXAMPLES = {"eastmoor": "mosaic", "westvale": "liquidlogic"}


def _awkward(db: Path, table: str, every: int) -> None:
    """Give AWKWARD_NAMES as first names to the first people of each `every` (by rowid)."""
    cases = " ".join(f"WHEN {i} THEN ?" for i in range(len(AWKWARD_NAMES)))
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"UPDATE {table} SET first_name = CASE rowid % {every} {cases} ELSE first_name END",
            AWKWARD_NAMES,
        )


def _authority(kind: str, folder: Path):
    """(mapping, connectors_dir, URL variable, URL) for one kind of authority."""
    if kind.startswith("large"):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        try:
            import _authority
        finally:
            sys.path.remove(str(ROOT / "benchmarks"))
        db = folder / f"{kind}.db"
        built = _authority.build(3000, db, seed=7)
        if kind.endswith("awkward"):
            _awkward(db, "persons", every=40)
        return _authority.MAPPING, _authority.CONNECTORS, _authority.URL_ENV, built["url"]
    if kind in EXAMPLES:
        from examples.mosaic_liquidlogic.generate import build_database as build_example

        url = f"sqlite:///{folder / f'{kind}.db'}"
        build_example(EXAMPLES[kind], url, people=60, seed=2025)
        return ROOT / "mappings" / f"{kind}.yaml", None, f"{kind.upper()}_DB_URL", url
    from tests.testshire import MAPPING_PATH, build_database

    db = folder / f"{kind}.db"
    url = build_database(db)
    if kind.endswith("awkward"):
        _awkward(db, "ts_people", every=len(AWKWARD_NAMES) + 1)
    return MAPPING_PATH, None, "TESTSHIRE_DB_URL", url


def run_digests(case: str, folder: Path, monkeypatch=None) -> dict[str, dict]:
    """Run one case; every published file's size and SHA-256 (manifest left out)."""
    import os

    from cldetl.pipeline import run

    kind, output = CASES[case]
    mapping, connectors, env, url = _authority(kind, folder)
    if monkeypatch is not None:
        monkeypatch.setenv(env, url)
    else:
        os.environ[env] = url
    result = run(mapping, folder / "out", PERIOD_END, connectors_dir=connectors, output=output)
    files = sorted(p for p in result.run_dir.iterdir() if p.name not in NOT_COMPARED)
    return {
        p.name: {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in files
    }


@pytest.mark.parametrize("case", list(CASES))
def test_every_published_file_is_byte_identical_to_c14c081(case, tmp_path, monkeypatch):
    expected = json.loads(DIGESTS.read_text())[case]
    found = run_digests(case, tmp_path, monkeypatch)
    assert sorted(found) == sorted(expected), "the run publishes other files"
    changed = [name for name in expected if found[name] != expected[name]]
    assert not changed, f"{case}: changed files {changed}"


def test_the_cases_exercise_the_writers_awkward_paths():
    """The digests hold the files the awkward cases must produce (so the test can fail)."""
    digests = json.loads(DIGESTS.read_text())
    assert any(n.endswith(".csv.gz") for n in digests["large_authority_utf8_gzip"])
    assert "validation.json" in digests["large_authority_awkward_names"]
    assert digests["large_authority_awkward_names"] != digests["large_authority"]


if __name__ == "__main__":  # write the digests (only for an intended output change)
    import tempfile

    sys.path.insert(0, str(ROOT))
    written = {}
    for name in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            written[name] = run_digests(name, Path(tmp))
            print(name, {k: v["bytes"] for k, v in written[name].items()})
    DIGESTS.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n")
