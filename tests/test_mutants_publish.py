"""Mutants of cldetl.publish that survived the fast test selection of a mutation run
(/work/notes/pub_mutation.md), each killed here by a test of the behaviour it changed: the
held folders (cldetl.publish.folder), the history's lookups, the manifest and the pointers."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from cldetl.publish import folder as folder_module
from cldetl.publish import history
from cldetl.publish.folder import Folder, OutputError
from cldetl.publish.history import (
    MIN_FREE_BYTES,
    RunStaging,
    earlier_run,
    file_list,
    latest_run,
    open_run,
    periods,
    preflight,
    publish,
    read_manifest,
    run_folders,
    space_needed,
    verify_run,
    write_manifest,
)
from cldetl.publish.portal_file import portal_file_name, transliterate, write_portal_csv
from cldetl.publish.write import read_small, write_text

END = date(2025, 9, 30)
STARTED = datetime(2025, 10, 1, 6, 0, 0, tzinfo=UTC)
STAMP = "20251001T060000Z"
ROWS = "a,b\n1,2\n"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX links")


def publish_run(out, end=END, files=None, about=None, started=STARTED):
    with open_run(out, needed_bytes=0) as staging:
        for name, text in (files or {"file.csv": ROWS}).items():
            write_text(text, staging.path(name), new=True)
        write_manifest(staging, about or {"cld_file": "file.csv"})
        return publish(staging, end, started)


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


@pytest.fixture(params=["dir_fd", "by_path"])
def mode(request, monkeypatch):
    """Each Folder behaviour with descriptors (POSIX) and by path (the Windows fallback)."""
    if request.param == "by_path":
        monkeypatch.setattr(folder_module, "AT", False)
    return request.param


# --- cldetl.publish.folder -------------------------------------------------------------------


def test_a_folder_swapped_for_a_link_even_to_itself_is_no_longer_there(tmp_path):
    real = tmp_path / "period"
    real.mkdir()
    with Folder.open(real) as held:
        assert held.still_there()
        real.rename(tmp_path / "moved")
        assert not held.still_there()  # moved away: nothing at the name
        real.symlink_to(tmp_path / "moved", target_is_directory=True)
        assert not held.still_there()  # a link at the name, even one leading to it


def test_removing_a_tree_that_cannot_be_removed_whole_is_no_error(tmp_path, mode, monkeypatch):
    (tmp_path / "stale" / "sub").mkdir(parents=True)
    (tmp_path / "stale" / "sub" / "stuck").write_text("x")
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if os.path.basename(os.fspath(path)) == "stuck":
            raise PermissionError(13, "Permission denied")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    with Folder.open(tmp_path) as folder:
        folder.remove("stale")  # what can go goes; the run is not stopped by a leftover
        folder.unlink("missing")  # nothing there: nothing to do
    assert (tmp_path / "stale" / "sub" / "stuck").exists()


def test_the_names_are_those_of_the_folder_held(tmp_path, mode):
    real = tmp_path / "area"
    real.mkdir()
    (real / "ours").write_text("x")
    with Folder.open(real) as held:
        assert held.names() == ["ours"]
        if mode == "dir_fd":
            victim = tmp_path / "victim"
            victim.mkdir()
            (victim / "theirs").write_text("x")
            real.rename(tmp_path / "moved")
            real.symlink_to(victim, target_is_directory=True)
            assert held.names() == ["ours"]


def test_regular_files_are_listed_below_and_links_are_not(tmp_path, mode):
    (tmp_path / "run" / "sub").mkdir(parents=True)
    (tmp_path / "run" / "a.csv").write_text("a")
    (tmp_path / "run" / "sub" / "b.csv").write_text("b")
    (tmp_path / "elsewhere.txt").write_text("not ours")
    (tmp_path / "run" / "link.csv").symlink_to(tmp_path / "elsewhere.txt")
    os.mkfifo(tmp_path / "run" / "fifo")
    with Folder.open(tmp_path / "run") as run:
        assert run.regular_files() == ["a.csv", "sub/b.csv"]
        fd = run.open_below("sub/b.csv")
        with os.fdopen(fd) as handle:
            assert handle.read() == "b"
        with pytest.raises(FileNotFoundError):
            run.open_below("missing/c.csv")
        assert not (tmp_path / "run" / "missing").exists()  # looked for, never made


def test_a_file_below_a_linked_folder_is_not_opened(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "b.csv").write_text("theirs")
    (tmp_path / "run" / "sub").symlink_to(tmp_path / "victim", target_is_directory=True)
    with Folder.open(tmp_path / "run") as run, pytest.raises(OutputError, match="is a link"):
        run.open_below("sub/b.csv")


def test_the_output_folder_itself_as_a_link_is_followed_once_and_a_file_refused(tmp_path, mode):
    """--out is the user's choice: a link at its own name leads to its target (a folder
    below it is made there); a file at --out is refused by name."""
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real", target_is_directory=True)
    with Folder.open(tmp_path / "out") as out:
        out.folder("made").close()
    assert (tmp_path / "real" / "made").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=f"{tmp_path / 'file'} is not a folder"):
        Folder.open(tmp_path / "file")


# --- cldetl.publish.write.read_small ---------------------------------------------------------


def test_a_pointer_read_in_pieces_is_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "latest.json"
    path.write_bytes(b"0123456789")
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, min(n, 3)))
    assert read_small(path, 100) == b"0123456789"


def test_a_pointer_that_grew_past_its_limit_after_its_size_was_checked_is_not_read(
    tmp_path, monkeypatch
):
    path = tmp_path / "latest.json"
    path.write_bytes(b"x" * 1000)
    real_fstat = os.fstat

    class Small:
        def __init__(self, info):
            self.st_mode, self.st_size = info.st_mode, 5

    monkeypatch.setattr(os, "fstat", lambda fd: Small(real_fstat(fd)))
    assert read_small(path, 10) is None


# --- cldetl.publish.history: lookups ---------------------------------------------------------


def test_runs_periods_and_pointers_are_found_only_as_real_folders(out):
    run = publish_run(out)
    period = out / "2025-09-30"
    assert run_folders(out, END) == [run]
    (period / "run-0009-20251009T060000Z").symlink_to(run, target_is_directory=True)
    (out / "2025-06-30").symlink_to(period, target_is_directory=True)
    (out / "2025-03-31").write_text("a file named like a period")
    (out / "2025-13-45").mkdir()  # no such date
    assert run_folders(out, END) == [run]
    assert periods(out) == [END]
    assert run_folders(out, date(2025, 6, 30)) == []
    # Through the `latest` link alone (latest.json gone).
    (period / "latest.json").unlink()
    assert latest_run(out, END) == run
    # A pointer naming something that is not a run folder of ours.
    (period / "latest").unlink()
    (period / "latest.json").write_text(json.dumps({"run": 5}))
    assert latest_run(out, END) is None
    (period / "latest.json").write_text(json.dumps({"run": "run-0009-20251009T060000Z"}))
    assert latest_run(out, END) is None  # a link named like a run


def test_the_earlier_run_is_the_latest_of_the_latest_earlier_period(out):
    june = publish_run(out, date(2025, 6, 30))
    assert earlier_run(out, date(2025, 6, 30)) is None  # its own period is not earlier
    assert earlier_run(out, END) == june
    march = publish_run(out, date(2025, 3, 31))
    assert earlier_run(out, END) == june and earlier_run(out, date(2025, 6, 30)) == march


# --- cldetl.publish.history: the manifest and verify_run -------------------------------------


def test_the_manifest_lists_every_file_with_its_size_and_hash(out):
    files = {"file.csv": ROWS, "z.csv": "z\n", "sub.csv": "Môn\n"}
    run = publish_run(out, files=files, about={"cld_file": "file.csv", "authority": "Ynys Môn"})
    manifest = read_manifest(run)
    assert manifest["manifest_format"] == 1
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(listed) == sorted(files)
    for name, text in files.items():
        data = text.encode("utf-8")
        assert listed[name]["bytes"] == len(data)
        assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
    raw = (run / "manifest.json").read_bytes()
    assert "Ynys Môn".encode() in raw and raw.startswith(b'{\n  "manifest_format": 1,')
    assert file_list(run) == manifest["files"]
    assert verify_run(run) == []


def test_verify_run_reports_missing_extra_and_changed_files_together(out):
    run = publish_run(out, files={"file.csv": ROWS, "gone.csv": "g\n", "same.csv": "s\n"})
    os.chmod(run, 0o700)
    (run / "gone.csv").unlink()
    (run / "extra.csv").write_text("e\n")
    os.chmod(run / "file.csv", 0o600)
    (run / "file.csv").write_text("changed\n")
    problems = verify_run(run)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "gone.csv is missing",
        "extra.csv is not in the manifest",
        "file.csv has changed since the run (SHA-256 differs)",
    ]


def test_a_manifest_that_is_not_an_object_or_not_there_says_so(tmp_path):
    with pytest.raises(OSError, match="manifest.json is missing"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[1]")
    with pytest.raises(ValueError, match="not a JSON object"):
        read_manifest(tmp_path)


# --- cldetl.publish.history: free space ------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "needed"),
    [
        ([{"path": "a", "bytes": 1000}, {"path": "b", "bytes": 24}], 2048),
        ([{"path": "a", "bytes": 1000}, "not an entry", {"path": "b"}], 2000),
        ({"not": "a list"}, 0),
        ([{"path": "a", "bytes": 1}], 2),
    ],
)
def test_the_space_asked_for_is_twice_the_latest_run(out, files, needed):
    run = publish_run(out)
    os.chmod(run / "manifest.json", 0o600)
    manifest = read_manifest(run)
    manifest["files"] = files
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert space_needed(out) == needed


@pytest.mark.parametrize("text", ["not json", "[]", '{"no": "files"}', None])
def test_an_unreadable_earlier_manifest_asks_for_no_space(out, text):
    run = publish_run(out)
    os.chmod(run / "manifest.json", 0o600)
    if text is None:
        (run / "manifest.json").unlink()
        (run / "manifest.json").mkdir()
        assert latest_run(out, END) is None
    else:
        (run / "manifest.json").write_text(text)
    assert space_needed(out) == 0


def test_a_disk_with_exactly_the_space_needed_takes_the_run_and_less_is_refused(out, monkeypatch):
    usage = shutil.disk_usage("/")
    monkeypatch.setattr(
        history.shutil, "disk_usage", lambda path: usage._replace(free=MIN_FREE_BYTES)
    )
    assert preflight(out, needed_bytes=0) == out
    monkeypatch.setattr(
        history.shutil, "disk_usage", lambda path: usage._replace(free=10 * 1024 * 1024)
    )
    with pytest.raises(OutputError, match=r"only 10 MiB free.*at least 256 MiB"):
        preflight(out, needed_bytes=0)


# --- cldetl.publish.history: publication -----------------------------------------------------


def test_a_name_taken_by_something_planted_is_skipped_by_one(out):
    (out / "2025-09-30").mkdir(parents=True)
    (out / "2025-09-30" / f"run-0001-{STAMP}").write_text("planted")
    run = publish_run(out)
    assert run.name == f"run-0002-{STAMP}"


def test_a_staging_folder_built_by_hand_is_published(out):
    preflight(out, needed_bytes=0)
    folder = out / ".cldetl" / "staging" / "by-hand"
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "file.csv").write_text(ROWS)
    staging = RunStaging(out, folder)
    write_manifest(staging, {"cld_file": "file.csv"})
    run = publish(staging, END, STARTED)
    assert run == out / "2025-09-30" / f"run-0001-{STAMP}"
    assert (run / "file.csv").read_text() == ROWS and verify_run(run) == []


def test_latest_json_names_the_run_and_its_manifest(out):
    run = publish_run(out)
    text = (out / "2025-09-30" / "latest.json").read_text()
    pointer = {"run": run.name, "manifest": f"{run.name}/manifest.json"}
    assert text == json.dumps(pointer, indent=2) + "\n"


def test_a_folder_at_latest_json_is_left_and_named(out):
    publish_run(out)
    pointer = out / "2025-09-30" / "latest.json"
    pointer.unlink()
    pointer.mkdir()
    with pytest.raises(OutputError, match=r"published as .*run-0002.*latest\.json could not"):
        publish_run(out)
    assert pointer.is_dir()


def test_pointers_that_cannot_be_switched_say_the_run_was_published(out, monkeypatch):
    """The run IS published when its pointers fail: the message says where, and why."""

    def refused(folder, name):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(history, "switch_latest", refused)
    with pytest.raises(
        OutputError,
        match=r"published as .*run-0001.*could not be switched to it \(Permission denied\)",
    ):
        publish_run(out)


@pytest.mark.parametrize(
    ("size", "shown"),
    [(10 * 1024 * 1024, "10 MiB"), (1000 * 1024 * 1024, "1,000 MiB"), (0, "0 MiB")],
)
def test_free_space_is_told_in_mebibytes(size, shown):
    assert history._size(size) == shown


# --- owner-only folders and guarded reads ----------------------------------------------------


def test_a_folder_made_below_the_output_folder_is_owner_only(tmp_path, mode):
    """0700 whatever the umask, with descriptors and on the path-based fallback alike."""
    old = os.umask(0o022)
    try:
        with Folder.open(tmp_path) as top:
            top.folder("made").close()
    finally:
        os.umask(old)
    assert (tmp_path / "made").stat().st_mode & 0o777 == 0o700


def test_a_pointer_that_grew_while_read_in_pieces_is_not_read(tmp_path, monkeypatch):
    """A file that grew past the limit after its size was checked is refused even when the
    system hands it over a few bytes at a time (the limit is not a place to stop reading)."""
    path = tmp_path / "latest.json"
    path.write_bytes(b"x" * 1000)
    real_fstat, real_read = os.fstat, os.read

    class Small:
        def __init__(self, info):
            self.st_mode, self.st_size = info.st_mode, 5

    monkeypatch.setattr(os, "fstat", lambda fd: Small(real_fstat(fd)))
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, min(n, 2)))
    assert read_small(path, 10) is None


# --- cldetl.publish.portal_file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("ł", "l"),
        ("Ą", "A"),
        ("ﬁ", "fi"),  # a ligature: two letters, nothing between them
        ("\u0301", "\u0301"),  # a lone combining accent: no letter to keep, so it stays
        ("한", "한"),  # decomposes, but into letters Windows-1252 has not either: stays
        ("中", "中"),
    ],
)
def test_transliteration_spells_only_what_windows_1252_can_then_carry(value, spelled):
    assert transliterate(value, "nfkd-latin") == spelled


@pytest.mark.parametrize(
    ("name", "use_gzip", "expected"),
    [
        ("CLD_R2_123_20250930.csv", True, "CLD_R2_123_20250930.csv.gz"),
        ("CLD_R2_123_20250930.csv.gz", True, "CLD_R2_123_20250930.csv.gz"),
        ("CLD_R2_123_20250930.csv", False, "CLD_R2_123_20250930.csv"),
    ],
)
def test_the_return_is_named_gz_only_when_gzipped(name, use_gzip, expected):
    assert portal_file_name(name, use_gzip) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoding": "latin-1"}, "encoding 'latin-1': choose one of windows-1252, utf-8"),
        (
            {"transliteration": "ascii"},
            "transliteration 'ascii': choose one of none, nfkd-latin",
        ),
    ],
)
def test_an_unknown_encoding_or_transliteration_names_the_choices(tmp_path, options, message):
    with pytest.raises(ValueError) as raised:
        write_portal_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "r.csv", **options)
    assert str(raised.value) == message


def test_the_return_is_each_row_once_in_windows_1252_with_blanks_empty(tmp_path):
    """Rows kept after a filter (index 10, 30, ...), a blank, quotes, a line break and a
    non-ASCII header, written two rows at a time: the same bytes as Python's csv module
    writes in Windows-1252 with CRLF."""
    rows = [
        ["1", "Zoë", "a, b"],
        ["2", None, 'say "hi"'],
        ["3", "x", "line\nbreak"],
        ["4", "é", "p"],
        ["5", "y", "q"],
    ]
    frame = pd.DataFrame(rows, columns=["Café", "Name", "Note"], index=[10, 20, 30, 40, 50])
    frame = frame.iloc[[0, 1, 2, 3, 4]]
    path = tmp_path / "r.csv"
    written = write_portal_csv(frame, path, rows_per_chunk=2)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(frame.columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    assert path.read_bytes() == expected.getvalue().encode("cp1252")
    assert (written.path, written.rows, written.encoding, written.gzip) == (
        path,
        5,
        "windows-1252",
        False,
    )


def test_a_long_column_of_few_values_is_quoted_on_every_row(tmp_path):
    frame = pd.DataFrame({"Note": ["a, b", "c"] * 600})
    path = tmp_path / "r.csv"
    write_portal_csv(frame, path)
    assert path.read_bytes() == b"Note\r\n" + b'"a, b"\r\nc\r\n' * 600


def test_every_column_windows_1252_cannot_carry_is_a_finding_naming_it(tmp_path):
    """A first non-ASCII column that Windows-1252 carries does not end the search."""
    frame = pd.DataFrame({"Town": ["Llanfair é"], "Name": ["Łucja"], "Other": ["ok"]})
    written = write_portal_csv(frame, tmp_path / "r.csv")
    assert written.unencodable == [(2, "Name")]
    findings = written.findings()
    assert findings[["line", "column", "rule"]].values.tolist() == [[2, "Name", "dlp.not_cp1252"]]


def test_a_utf8_return_has_no_windows_1252_findings(tmp_path):
    path = tmp_path / "r.csv"
    written = write_portal_csv(pd.DataFrame({"Name": ["王"]}), path, encoding="utf-8")
    assert written.unencodable == [] and written.findings().empty
    assert path.read_bytes() == "Name\r\n王\r\n".encode()


def test_a_gzipped_return_carries_no_time_so_the_same_rows_give_the_same_bytes(tmp_path):
    path = tmp_path / "r.csv.gz"
    write_portal_csv(pd.DataFrame({"a": ["1"]}), path, use_gzip=True)
    data = path.read_bytes()
    assert data[4:8] == b"\0\0\0\0"  # the gzip header's MTIME field
    assert gzip.decompress(data) == b"a\r\n1\r\n"


def test_a_return_written_again_to_a_path_the_user_named_replaces_it(tmp_path):
    path = tmp_path / "r.csv"
    write_portal_csv(pd.DataFrame({"a": ["old value"]}), path)
    write_portal_csv(pd.DataFrame({"a": ["1"]}), path)
    assert path.read_bytes() == b"a\r\n1\r\n"


def test_a_return_written_into_a_held_run_folder_goes_by_its_descriptor(tmp_path):
    """In the run's staging folder (held open) the return is created relative to it."""
    with Folder.open(tmp_path) as run, folder_module.held(run):
        write_portal_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == b"a\r\n1\r\n"


# --- folder.py / write.py, the rest (dev-mutP2) ----------------------------------------------


def test_a_file_made_below_the_output_folder_is_owner_only(tmp_path, mode):
    """0600 whatever the umask (personal data), with descriptors and on the path-based
    fallback alike: the mode is passed to every os.open that may create a file."""
    old = os.umask(0o022)
    try:
        with Folder.open(tmp_path) as top:
            os.close(top.create("made.csv"))
    finally:
        os.umask(old)
    assert (tmp_path / "made.csv").stat().st_mode & 0o777 == 0o600


def test_closing_a_folder_never_fails_even_twice(tmp_path, monkeypatch):
    """Closing a folder (after the run's files are written) is no error: a close the system
    refuses is ignored, and a folder closed twice (a `with` after an explicit close) is fine."""
    top = Folder.open(tmp_path)
    held_fd = top.fd

    def refused(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "close", refused)
    top.close()
    monkeypatch.undo()
    os.close(held_fd)
    assert top.fd is None
    with top:
        top.close()
    assert top.fd is None
