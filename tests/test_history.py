"""The run history and its publication: one complete run visible at any moment (killed or
failing runs included), stale staging removed, one run at a time per output folder, and an
output folder checked before anything is extracted."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections import namedtuple
from datetime import date

import pytest
from click.testing import CliRunner

import cldetl.pipeline as pipeline
import cldetl.publish.history as history
from cldetl.cli import cli
from cldetl.pipeline import now_utc
from cldetl.publish.history import (
    OutputError,
    RunLockedError,
    earlier_run,
    latest_run,
    open_run,
    preflight,
    run_lock,
    verify_run,
)
from tests.testshire import MAPPING_PATH, build_database

PERIOD_END = date(2025, 9, 30)
CLD_NAME = "CLD_R2_999_20250930.csv"
Built = namedtuple("Built", "mapping period result report table")


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = build_database(tmp_path / "testshire.db")
    monkeypatch.setenv("TESTSHIRE_DB_URL", url)
    return url


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One transformed and validated return, to publish again and again."""
    from cldetl.extract import extract
    from cldetl.mapping import load_mapping
    from cldetl.transform import transform

    url = build_database(tmp_path_factory.mktemp("db") / "testshire.db")
    mapping = load_mapping(MAPPING_PATH)
    period = pipeline.reporting_period(mapping, PERIOD_END)
    frames = extract(mapping, period, url=url)
    result = transform(mapping, frames, period)
    table, report = pipeline.validate_output(mapping, period, result.cld)
    return Built(mapping, period, result, report, table)


def publish_once(out, built: Built):
    with open_run(out) as staging:
        published = pipeline.write_run(
            staging,
            built.mapping,
            built.period,
            built.result,
            built.report,
            built.table,
            started=now_utc(),
        )
    return published.files


def cli_run(out, *extra):
    return CliRunner().invoke(
        cli,
        ["run", "--mapping", str(MAPPING_PATH), "--period-end", "2025-09-30", "--out", str(out)]
        + list(extra),
    )


# --- publication under faults ----------------------------------------------------------------

# Every step that writes or publishes a file, in the order a run takes them: the data files
# into staging, the manifest, the one rename that publishes the run folder, and the two
# pointer switches (the `latest` symlink, then latest.json).
STEPS = [
    ("write_portal_csv", 1),  # the CLD file
    ("write_csv", 1),  # exclusions.csv
    ("write_csv", 4),  # lineage.csv
    ("write_text", 1),  # validation.json
    ("manifest", 1),
    ("rename", 1),
    ("replace", 1),  # latest symlink
    ("replace", 2),  # latest.json
]


def _fail_at(monkeypatch, step: str, nth: int, fault) -> None:
    """Make the nth call of a publication step run `fault` instead."""
    targets = {
        "write_portal_csv": (pipeline, "write_portal_csv"),
        "write_csv": (pipeline, "write_csv"),
        "write_text": (pipeline, "write_text"),
        "manifest": (pipeline, "write_manifest"),
        "rename": (history, "rename"),
        "replace": (history, "replace"),
    }
    module, name = targets[step]
    real = getattr(module, name)
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            fault()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def _reader_sees_one_complete_run(out, expected_runs: set) -> str:
    """What a reader finds through the period's pointers: one complete run, whose files
    match its manifest. Returns its name."""
    seen = set()
    via_link = (out / "2025-09-30" / "latest").resolve()
    via_json = latest_run(out, PERIOD_END)  # the symlink, or latest.json without one
    import json

    pointer = json.loads((out / "2025-09-30" / "latest.json").read_text())
    via_pointer = out / "2025-09-30" / pointer["run"]
    for run in (via_link, via_json, via_pointer):
        assert run is not None and run.is_dir()
        assert verify_run(run) == []
        seen.add(run.name)
    assert seen <= expected_runs
    for run in (out / "2025-09-30").glob("run-*"):
        assert verify_run(run) == []  # every published run folder is complete
    return via_link.name


@pytest.mark.parametrize(("step", "nth"), STEPS)
def test_an_error_at_any_publication_step_leaves_the_previous_run_whole(
    built, tmp_path, monkeypatch, step, nth
):
    out = tmp_path / "out"
    first = publish_once(out, built)["cld"].parent

    def fault():
        raise OSError(5, "Input/output error")

    _fail_at(monkeypatch, step, nth, fault)
    try:
        publish_once(out, built)
        failed = False
    except OutputError as exc:
        assert "Input/output error" in str(exc)
        failed = True
    runs = {p.name for p in (out / "2025-09-30").glob("run-*")}
    seen = _reader_sees_one_complete_run(out, runs)
    if step in ("replace",):
        # The run folder was published; a pointer switch failed: the reader sees either run.
        assert failed and len(runs) == 2
    else:
        assert failed and runs == {first.name} and seen == first.name
    assert list((out / ".cldetl" / "staging").iterdir()) == []


def _killed_child(out, built: Built, step: str, nth: int) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fail_at(monkeypatch, step, nth, lambda: os._exit(9))  # like SIGKILL: no cleanup
        publish_once(out, built)
    os._exit(0)


@pytest.mark.parametrize(("step", "nth"), STEPS)
def test_a_run_killed_at_any_publication_step_leaves_one_complete_run(built, tmp_path, step, nth):
    out = tmp_path / "out"
    first = publish_once(out, built)["cld"].parent
    child = multiprocessing.get_context("fork").Process(
        target=_killed_child, args=(out, built, step, nth)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 9
    runs = {p.name for p in (out / "2025-09-30").glob("run-*")}
    seen = _reader_sees_one_complete_run(out, runs)
    if step not in ("replace",):
        assert runs == {first.name} and seen == first.name
    staging = out / ".cldetl" / "staging"
    assert list(staging.iterdir())  # the killed run's staging is left behind

    # The next run removes the stale staging (its lock died with the process) and publishes.
    files = publish_once(out, built)
    assert list(staging.iterdir()) == []
    assert _reader_sees_one_complete_run(out, runs | {files["cld"].parent.name}) == (
        files["cld"].parent.name
    )


# --- the lock ---------------------------------------------------------------------------------


def test_a_second_run_into_the_same_folder_is_refused(database, tmp_path):
    out = tmp_path / "out"
    with run_lock(preflight(out)):
        result = cli_run(out)
    assert result.exit_code == 2, result.output
    assert f"another cldetl run (process {os.getpid()}) is writing into {out}" in result.output
    assert "Traceback" not in result.output
    assert not (out / "2025-09-30").exists()
    assert cli_run(out).exit_code == 0  # the lock is released when the holder ends


def test_the_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    out = preflight(tmp_path / "out")
    ctx = multiprocessing.get_context("fork")
    locked, release = ctx.Event(), ctx.Event()

    def holder():
        with run_lock(out):
            locked.set()
            release.wait(30)
        os._exit(0)

    child = ctx.Process(target=holder)
    child.start()
    assert locked.wait(30)
    with pytest.raises(RunLockedError, match=f"process {child.pid}"), run_lock(out):
        pass
    child.kill()  # killed while holding it: the system releases the lock
    child.join(30)
    with run_lock(out):
        pass


# --- preflight: before anything is extracted ----------------------------------------------------


def _extract_must_not_run(monkeypatch):

    def refuse(*args, **kwargs):
        raise AssertionError("extract ran before the output folder was checked")

    monkeypatch.setattr(pipeline, "read_sources", refuse)


def test_out_under_a_file_exits_2_before_extracting(database, tmp_path, monkeypatch):
    _extract_must_not_run(monkeypatch)
    (tmp_path / "a-file").write_text("x")
    result = cli_run(tmp_path / "a-file" / "out")
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output
    assert "Traceback" not in result.output


def test_a_read_only_output_folder_exits_2_before_extracting(database, tmp_path, monkeypatch):
    _extract_must_not_run(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the probe see what a user would
        real_open = os.open

        def read_only(path, flags, *args, **kwargs):
            # A file made under out: by its path, or by name in a folder of out held open.
            under = str(path).startswith(str(out)) or "dir_fd" in kwargs
            if under and flags & os.O_CREAT:
                raise PermissionError(13, "Permission denied")
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(history.os, "open", read_only)
    else:
        out.chmod(0o500)
    try:
        result = cli_run(out)
    finally:
        out.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert "cannot be written to (Permission denied)" in result.output
    assert "Traceback" not in result.output


def test_a_full_disk_exits_2_before_extracting(database, tmp_path, monkeypatch):
    _extract_must_not_run(monkeypatch)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        history.shutil, "disk_usage", lambda path: usage._replace(free=10 * 1024 * 1024)
    )
    result = cli_run(tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "only 10 MiB free" in result.output and "at least 256 MiB" in result.output
    assert "Traceback" not in result.output


def test_the_free_space_asked_for_grows_with_the_history(built, tmp_path):
    out = tmp_path / "out"
    publish_once(out, built)
    size = sum(f["bytes"] for f in history.read_manifest(latest_run(out, PERIOD_END))["files"])
    assert history.space_needed(out) == 2 * size


def test_extract_staging_stays_inside_the_output_area(database, tmp_path, monkeypatch):
    import stat

    seen = {}
    real = pipeline.read_sources

    def spy(*args, **kwargs):
        seen["staging"] = kwargs["staging_dir"]
        extracted = real(*args, **kwargs)
        seen["files"] = sorted(p.name for p in kwargs["staging_dir"].iterdir())
        seen["mode"] = stat.S_IMODE(kwargs["staging_dir"].parent.stat().st_mode)
        return extracted

    monkeypatch.setattr(pipeline, "read_sources", spy)
    out = tmp_path / "out"
    pipeline.run(MAPPING_PATH, out, PERIOD_END)
    assert seen["staging"].is_relative_to(out / ".cldetl" / "staging")
    assert seen["files"] and all(name.endswith(".parquet") for name in seen["files"])
    assert seen["mode"] == 0o700
    assert not seen["staging"].exists()  # removed with the run's staging


def test_stale_staging_is_removed_by_the_next_run(built, tmp_path):
    out = tmp_path / "out"
    stale = out / ".cldetl" / "staging" / "20250101T000000Z-1234"
    (stale / "extract").mkdir(parents=True)
    (stale / "extract" / "people.parquet").write_bytes(b"PAR1")
    with open_run(out) as staging:
        assert not stale.exists()
        assert staging.folder.parent == stale.parent


def test_the_earlier_period_is_found_through_its_pointer(built, tmp_path):
    out = tmp_path / "out"
    assert earlier_run(out, PERIOD_END) is None
    first = publish_once(out, built)["cld"].parent
    assert earlier_run(out, date(2025, 12, 31)) == first
    assert earlier_run(out, PERIOD_END) is None


def test_pointers_and_stray_folders(built, tmp_path):
    out = tmp_path / "out"
    run = publish_once(out, built)["cld"].parent
    (out / "2025-13-45").mkdir()  # not a date: ignored
    (out / "notes").mkdir()
    assert history.periods(out) == [PERIOD_END]
    link = out / "2025-09-30" / "latest"
    link.unlink()
    link.symlink_to("run-9999-20990101T000000Z")  # dangling: latest.json still says
    assert latest_run(out, PERIOD_END) == run
    (out / "2025-09-30" / "latest.json").write_text("{not json")
    assert latest_run(out, PERIOD_END) is None
