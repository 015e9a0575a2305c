"""An output folder others can write to (shared drives are normal in councils) cannot be
turned against the user (issue 19, point 3): each link, FIFO, device or folder planted under
--out is refused or removed, never followed, and the messages say what was published."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, date, datetime

import pytest

from cldetl.publish import history
from cldetl.publish.history import (
    OutputError,
    latest_run,
    open_run,
    publish,
    read_manifest,
    space_needed,
    write_manifest,
)
from cldetl.publish.write import write_csv, write_text

PERIOD_END = date(2025, 9, 30)
SECRET = "the victim's own file\n"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX links, FIFOs and devices")


@pytest.fixture(autouse=True)
def _no_hang():
    """A FIFO read would hang: fail instead."""

    def stop(*_):
        raise TimeoutError("hung on a planted file")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def publish_run(out):
    with open_run(out, needed_bytes=0) as staging:
        write_text("a,b\n1,2\n", staging.path("file.csv"), new=True)
        write_manifest(staging, {"cld_file": "file.csv"})
        return publish(staging, PERIOD_END, datetime.now(UTC))


@pytest.fixture
def victim(tmp_path):
    """A folder outside --out holding a file the user cares about."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious.txt").write_text(SECRET)
    return folder


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def period(out):
    return out / f"{PERIOD_END:%Y-%m-%d}"


def test_a_link_at_the_staging_folder_is_removed_not_followed(out, victim):
    (out / ".cldetl").mkdir(parents=True)
    (out / ".cldetl" / "staging").symlink_to(victim, target_is_directory=True)
    run = publish_run(out)
    assert (victim / "precious.txt").read_text() == SECRET
    assert not (out / ".cldetl" / "staging").is_symlink()
    assert latest_run(out, PERIOD_END) == run


def test_a_link_or_hard_link_at_the_lock_is_never_truncated(out, victim):
    (out / ".cldetl").mkdir(parents=True)
    lock = out / ".cldetl" / "lock"
    lock.symlink_to(victim / "precious.txt")
    with pytest.raises(OutputError, match="lock file"):
        publish_run(out)
    assert (victim / "precious.txt").read_text() == SECRET
    lock.unlink()
    os.link(victim / "precious.txt", lock)
    with pytest.raises(OutputError, match="not cldetl's lock file"):
        publish_run(out)
    assert (victim / "precious.txt").read_text() == SECRET


def test_links_at_the_pointer_temporary_files_are_not_followed(out, victim):
    first = publish_run(out)
    for name in (f".latest.json.{os.getpid()}.tmp", f".latest.{os.getpid()}.tmp"):
        (period(out) / name).symlink_to(victim / "precious.txt")
    second = publish_run(out)
    assert (victim / "precious.txt").read_text() == SECRET
    assert first != second and latest_run(out, PERIOD_END) == second
    assert json.loads((period(out) / "latest.json").read_text())["run"] == second.name
    assert not [p for p in os.listdir(period(out)) if p.endswith(".tmp")]


def test_a_linked_period_folder_is_refused_and_nothing_is_published(out, victim):
    out.mkdir()
    period(out).symlink_to(victim, target_is_directory=True)
    with pytest.raises(OutputError, match="is a link.*Nothing was published"):
        publish_run(out)
    assert sorted(os.listdir(victim)) == ["precious.txt"]


@pytest.mark.parametrize("planted", ["fifo", "dev_zero", "huge"])
def test_latest_json_is_read_only_when_a_small_regular_file(out, planted, tmp_path):
    first = publish_run(out)
    pointer = period(out) / "latest.json"
    pointer.unlink()
    (period(out) / "latest").unlink()
    if planted == "fifo":
        os.mkfifo(pointer)
    elif planted == "dev_zero":
        pointer.symlink_to("/dev/zero")
    else:
        with pointer.open("wb") as handle:
            handle.truncate(1 << 30)  # sparse: 1 GiB of zeros
    assert latest_run(out, PERIOD_END) is None  # ignored, not read
    assert space_needed(out) == 0
    second = publish_run(out)  # and replaced by the next run's pointer
    assert first != second and latest_run(out, PERIOD_END) == second
    assert pointer.is_file() and not pointer.is_symlink()


def test_a_folder_at_latest_is_left_and_the_message_says_the_run_was_published(out):
    publish_run(out)
    (period(out) / "latest").unlink()
    (period(out) / "latest").mkdir()
    (period(out) / "latest" / "theirs.txt").write_text("kept")
    with pytest.raises(OutputError, match=r"the run was published as .*run-0002.*latest"):
        publish_run(out)
    assert (period(out) / "latest" / "theirs.txt").read_text() == "kept"
    assert json.loads((period(out) / "latest.json").read_text())["run"].startswith("run-0002")
    assert not [p for p in os.listdir(period(out)) if p.endswith(".tmp")]


@pytest.mark.parametrize("size", ["lots", None, -5, True, [1], 1.5])
def test_an_earlier_manifest_with_a_bad_size_is_no_crash(out, size):
    run = publish_run(out)
    manifest = read_manifest(run)
    manifest["files"][0]["bytes"] = size
    os.chmod(run / "manifest.json", 0o600)
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert space_needed(out) == 0
    assert publish_run(out) != run


def test_a_manifest_that_is_a_fifo_is_not_read(out):
    run = publish_run(out)
    (run / "manifest.json").unlink()
    os.mkfifo(run / "manifest.json")
    with pytest.raises(OSError):
        read_manifest(run)
    assert history.verify_run(run)  # reported as a problem, not hung on


def test_files_under_out_are_created_new_never_through_a_link(tmp_path, victim):
    import pandas as pd

    target = tmp_path / "exclusions.csv"
    target.symlink_to(victim / "precious.txt")
    with pytest.raises(FileExistsError):
        write_csv(pd.DataFrame({"a": ["1"]}), target)
    with pytest.raises(FileExistsError):
        write_text("x", target, new=True)
    assert (victim / "precious.txt").read_text() == SECRET


# --- the helpers themselves (each kills mutants that survived `make mutate`: docs/testing.md)


def test_private_folders_are_0700_whatever_the_umask(tmp_path):
    from cldetl.publish.write import ensure_private_dir, private_dir_in

    old = os.umask(0)
    try:
        made = private_dir_in(tmp_path, "a", "b")
        nested = ensure_private_dir(tmp_path / "c" / "d")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", made, tmp_path / "c", nested):
        assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700, folder


def test_a_file_where_a_folder_belongs_is_refused_with_what_to_do(tmp_path):
    from cldetl.publish.write import private_dir_in

    (tmp_path / ".cldetl").write_text("not a folder")
    with pytest.raises(OutputError) as refused:
        private_dir_in(tmp_path, ".cldetl")
    assert str(refused.value) == (
        f"{tmp_path / '.cldetl'} is not a folder; cldetl writes only into real folders inside "
        "the output folder (someone else may have put it there). Remove it, or choose another "
        "--out."
    )


@pytest.mark.parametrize(("size", "read"), [(0, True), (99, True), (100, True), (101, False)])
def test_a_pointer_is_read_up_to_its_limit_and_not_a_byte_more(tmp_path, size, read):
    from cldetl.publish.write import read_small

    path = tmp_path / "latest.json"
    path.write_bytes(b"x" * size)
    assert read_small(path, 100) == (b"x" * size if read else None)


def test_a_pointer_linked_to_a_small_regular_file_is_not_read(tmp_path, victim):
    from cldetl.publish.write import read_small

    (tmp_path / "latest.json").symlink_to(victim / "precious.txt")
    assert read_small(tmp_path / "latest.json", 1000) is None


def test_a_path_the_user_named_is_replaced_and_every_file_is_0600(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "quality.csv"
        write_text("first", path)
        write_text("second", path)  # not new: replaced, as a --quality-csv path is
        fresh = tmp_path / "new.txt"
        write_text("£", fresh, new=True)
    finally:
        os.umask(old)
    assert path.read_text() == "second"
    assert fresh.read_bytes() == "£".encode()
    for made in (path, fresh):
        assert (made.stat().st_mode & 0o777) == 0o600


def test_out_itself_may_be_a_link_the_user_made_to_a_real_folder(tmp_path):
    """--out is the user's own choice (a link to a shared drive is normal): a link at its own
    name is followed once, and the run is published in its target; links under it are not."""
    real = tmp_path / "shared-drive"
    real.mkdir()
    out = tmp_path / "out"
    out.symlink_to(real, target_is_directory=True)
    publish_run(out)
    assert (real / f"{PERIOD_END:%Y-%m-%d}").is_dir()
