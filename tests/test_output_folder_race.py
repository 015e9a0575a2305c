"""No swap between check and use (issue 19, point 3): someone who can write into --out moves
a folder cldetl has already checked aside and puts a symbolic link to a folder of theirs in
its place, in the gap between cldetl's check and its use. Each test makes that swap happen at
exactly that moment (a hook on the call that comes right after the check) and shows that
nothing is written, renamed into or deleted outside --out: every folder under --out is held
open by descriptor (cldetl.publish.folder). Each fails against the path-based code."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cldetl.publish import folder as folder_module
from cldetl.publish import history
from cldetl.publish.history import (
    OutputError,
    latest_run,
    open_run,
    publish,
    remove_stale_staging,
    run_lock,
    verify_run,
    write_manifest,
)
from cldetl.publish.write import write_text

PERIOD_END = date(2025, 9, 30)
SECRET = "the victim's own file\n"
ROWS = "a,b\n1,2\n"

pytestmark = pytest.mark.skipif(
    not folder_module.AT, reason="descriptor-relative operations (POSIX)"
)


@pytest.fixture
def victim(tmp_path):
    """A folder outside --out, the swapped-in link's target."""
    folder = tmp_path / "victim"
    folder.mkdir()
    return folder


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def swap_for_link(folder: Path, target: Path) -> Path:
    """What anyone with write access to `folder`'s parent can do: move `folder` aside and put
    a link to `target` in its place. Returns where the real folder went."""
    moved = folder.with_name(folder.name + "-moved")
    os.rename(folder, moved)
    folder.symlink_to(target, target_is_directory=True)
    return moved


def before_opening(monkeypatch, name: str, action) -> list:
    """Run `action` once, just before the first os.open of a file called `name`."""
    real, done = os.open, []

    def hooked(path, flags, *args, **kwargs):
        if not done and os.path.basename(os.fspath(path)) == name:
            done.append(name)
            action()
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", hooked)
    return done


def test_a_run_s_files_go_to_its_own_folder_when_the_state_folder_is_swapped(
    out, victim, monkeypatch
):
    with open_run(out, needed_bytes=0) as staging:
        below = staging.run_dir.relative_to(out / ".cldetl")  # staging/<token>/run
        mirror = victim / below  # the look-alike path the link leads to

        def swap():
            mirror.mkdir(parents=True)
            (mirror.parent / "precious.txt").write_text(SECRET)
            swap_for_link(out / ".cldetl", victim)

        swapped = before_opening(monkeypatch, "file.csv", swap)
        write_text(ROWS, staging.path("file.csv"), new=True)
        write_manifest(staging, {"cld_file": "file.csv"})
        run = publish(staging, PERIOD_END, datetime.now(UTC))
    assert swapped
    assert sorted(p.name for p in victim.rglob("*") if p.is_file()) == ["precious.txt"]
    assert (mirror.parent / "precious.txt").read_text() == SECRET  # clean-up never followed
    assert (run / "file.csv").read_text() == ROWS and verify_run(run) == []
    assert latest_run(out, PERIOD_END) == run
    assert list((out / ".cldetl-moved" / "staging").iterdir()) == []  # its own, cleaned


def test_stale_staging_is_cleared_in_its_own_folder_when_swapped_after_listing(
    out, victim, monkeypatch
):
    stale = out / ".cldetl" / "staging" / "20250101T000000Z-1"
    stale.mkdir(parents=True)
    (stale / "people.parquet").write_text("names")
    (victim / stale.name).mkdir()
    (victim / stale.name / "precious.txt").write_text(SECRET)
    real_listdir, done = os.listdir, []

    def listdir(path="."):
        names = real_listdir(path)
        if not done and stale.name in names:  # the staging folder was checked and listed
            done.append(path)
            swap_for_link(out / ".cldetl" / "staging", victim)
        return names

    monkeypatch.setattr(os, "listdir", listdir)
    removed = remove_stale_staging(out)
    assert done
    assert (victim / stale.name / "precious.txt").read_text() == SECRET
    assert not (out / ".cldetl" / "staging-moved" / stale.name).exists()
    assert [p.name for p in removed] == [stale.name]


def test_a_period_folder_swapped_after_its_check_gets_nothing_published_through_it(
    out, victim, monkeypatch
):
    with open_run(out, needed_bytes=0) as staging:
        write_text(ROWS, staging.path("file.csv"), new=True)
        write_manifest(staging, {"cld_file": "file.csv"})
        real_run_folders = history.run_folders

        def checked_then_swapped(out_dir, period_end):
            swap_for_link(history.period_folder(out_dir, period_end), victim)
            return real_run_folders(out_dir, period_end)

        monkeypatch.setattr(history, "run_folders", checked_then_swapped)
        with pytest.raises(OutputError, match=r"published as run-0001-.*moved or replaced"):
            publish(staging, PERIOD_END, datetime.now(UTC))
    assert os.listdir(victim) == []  # nothing renamed into, nor written to, the link's target
    moved = out / f"{PERIOD_END:%Y-%m-%d}-moved"
    (run,) = [p for p in moved.iterdir() if p.name.startswith("run-0001-")]
    assert (run / "file.csv").read_text() == ROWS and verify_run(run) == []


def test_the_lock_is_taken_in_its_own_folder_when_the_state_folder_is_swapped(
    out, victim, monkeypatch
):
    (out / ".cldetl").mkdir(parents=True)
    (victim / "lock").write_text(SECRET)
    swapped = before_opening(monkeypatch, "lock", lambda: swap_for_link(out / ".cldetl", victim))
    with run_lock(out):
        pass
    assert swapped
    assert (victim / "lock").read_text() == SECRET  # never truncated, no pid written
    assert (out / ".cldetl-moved" / "lock").read_text() == ""


def test_the_preflight_probe_is_made_in_its_own_folder(out, victim, monkeypatch):
    (out / ".cldetl").mkdir(parents=True)
    real_open, seen = os.open, []

    def swap_before_probe(path, flags, *args, **kwargs):
        probe = os.path.basename(os.fspath(path)).startswith(".probe-")
        if probe and not seen:
            swap_for_link(out / ".cldetl", victim)
        fd = real_open(path, flags, *args, **kwargs)
        if probe and not seen:
            seen.append(os.listdir(victim))  # while the probe exists
        return fd

    monkeypatch.setattr(os, "open", swap_before_probe)
    history.preflight(out, needed_bytes=0)
    assert seen == [[]]  # no probe was ever created there
    assert os.listdir(victim) == [] and os.listdir(out / ".cldetl-moved") == []


# --- where the system has no descriptor-relative calls (Windows): paths, checked to stay inside


@pytest.fixture
def by_path(monkeypatch):
    """The fallback Folder: no dir_fd calls, each use by path, checked to stay inside --out."""
    monkeypatch.setattr(folder_module, "AT", False)


def test_without_dir_fd_a_run_is_published_by_path(out, by_path):
    with open_run(out, needed_bytes=0) as staging:
        assert staging.run.fd is None
        write_text(ROWS, staging.path("file.csv"), new=True)
        write_manifest(staging, {"cld_file": "file.csv"})
        run = publish(staging, PERIOD_END, datetime.now(UTC))
    assert (run / "file.csv").read_text() == ROWS and verify_run(run) == []
    assert latest_run(out, PERIOD_END) == run
    assert list((out / ".cldetl" / "staging").iterdir()) == []


def test_without_dir_fd_a_folder_that_now_leads_outside_is_refused(
    out, victim, monkeypatch, by_path
):
    with pytest.raises(OutputError, match="now leads outside the output folder"):
        with open_run(out, needed_bytes=0) as staging:
            mirror = victim / staging.run_dir.relative_to(out / ".cldetl")
            mirror.mkdir(parents=True)
            swap_for_link(out / ".cldetl", victim)
            write_text(ROWS, staging.path("file.csv"), new=True)
    assert not [p for p in victim.rglob("*") if p.is_file()]  # nothing written there
    assert mirror.is_dir()  # and nothing removed there
