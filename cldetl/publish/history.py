"""The run history: every run of a period kept in its own folder, published all or nothing.

    <out>/
      .cldetl/lock                 held (fcntl) by the run writing into <out>; holds its pid
      .cldetl/staging/<token>/     a run being prepared (0700): run/ becomes the run folder,
                                   extract/ holds the Parquet staging files; removed afterwards,
                                   and by the next run if a run was killed
      2025-09-30/                  one folder per reporting period end
        run-0001-20251001T060000Z/ one folder per run, never changed once published
          manifest.json            what the run was and which files it wrote (SHA-256)
          CLD_R2_....csv, exclusions.csv, ...
        run-0002-20251002T060000Z/ a rerun: a new folder, the earlier one kept
        latest -> run-0002-...     symlink to the latest run, switched atomically
        latest.json                the same pointer as a small JSON file (for Windows)

A run is prepared whole in the staging folder, inside the output area (so the final rename
never crosses a file system), then made visible by ONE rename into its period folder, and only
then do the `latest` pointers switch, each by an atomic replace. A reader that follows a
pointer therefore always finds one complete run: the previous one or the new one, never a mix.

Every folder worked in under <out> is held open by descriptor (cldetl.publish.folder): the
lock, the probe, the staging folders and their clean-up, the run's files, the publishing
rename and the pointer switches are all relative to a folder opened once without following
a link, so a folder swapped for a link between a check and a use redirects nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cldetl.publish.folder import Folder, held, held_folder, move
from cldetl.publish.write import (
    NOFOLLOW,
    NONBLOCK,
    OutputError,
    ensure_private_dir,
    read_small,
    write_text,
)

# The system's file locks: fcntl (Linux, macOS), else msvcrt (Windows). A module attribute, so
# that the tests can run the Windows branch on Linux with a stand-in for msvcrt.
try:
    import fcntl as LOCKS  # noqa: N812
except ImportError:  # pragma: no cover - Windows (tests/test_windows_portable.py)
    import msvcrt as LOCKS  # noqa: N812

STATE_DIR = ".cldetl"
LOCK_FILE = "lock"
STAGING_DIR = "staging"
MANIFEST = "manifest.json"
LATEST = "latest"
LATEST_POINTER = "latest.json"
MANIFEST_FORMAT = 1
# Free space asked for before extracting: room for the Parquet staging files and the outputs.
# Twice the previous run's size when there is one (staging plus outputs), and never less
# than this floor.
MIN_FREE_BYTES = 256 * 1024 * 1024
# The most read of a pointer (latest.json is about 100 bytes) and of a manifest (a few KB):
# a planted /dev/zero or huge file is not read.
POINTER_BYTES = 64 * 1024
MANIFEST_BYTES = 16 * 1024 * 1024

_PERIOD_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RUN_NAME = re.compile(r"^run-(\d{4,})-\d{8}T\d{6}Z$")


class RunLockedError(OutputError):
    """Another cldetl run is writing into the same output folder."""


# --- where things are -------------------------------------------------------------------------


def period_folder(out_dir: str | Path, period_end: date) -> Path:
    return Path(out_dir) / f"{period_end:%Y-%m-%d}"


def run_folders(out_dir: str | Path, period_end: date) -> list[Path]:
    """The published runs of a period, oldest first (by their sequence number)."""
    folder = period_folder(out_dir, period_end)
    if not folder.is_dir():
        return []
    if folder.is_symlink():
        return []
    runs = [
        (int(m.group(1)), p)
        for p in folder.iterdir()
        if (m := _RUN_NAME.match(p.name)) and p.is_dir() and not p.is_symlink()
    ]
    return [p for _, p in sorted(runs)]


def latest_run(out_dir: str | Path, period_end: date) -> Path | None:
    """The latest published run of a period, by its pointer: the `latest` symlink, else
    latest.json. None when neither names a run folder with a manifest."""
    folder = period_folder(out_dir, period_end)
    if folder.is_symlink():
        return None  # not cldetl's: a run is never looked for outside --out
    names = []
    link = folder / LATEST
    if link.is_symlink():
        names.append(os.readlink(link))
    pointer = read_small(folder / LATEST_POINTER, POINTER_BYTES)
    try:
        names.append(json.loads(pointer or b"")["run"])
    except (ValueError, KeyError, TypeError):
        pass
    for name in names:
        if isinstance(name, str) and _RUN_NAME.match(Path(name).name):
            run = folder / Path(name).name
            if not run.is_symlink() and (run / MANIFEST).is_file():
                return run
    return None


def periods(out_dir: str | Path) -> list[date]:
    """The period ends with a folder in the history, oldest first."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    ends = []
    for entry in out.iterdir():
        if _PERIOD_NAME.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            with contextlib.suppress(ValueError):  # 2025-13-45 is no period of ours
                ends.append(date.fromisoformat(entry.name))
    return sorted(ends)


def earlier_run(out_dir: str | Path, period_end: date) -> Path | None:
    """The latest run of the latest period before `period_end` (last quarter's return)."""
    for end in reversed([e for e in periods(out_dir) if e < period_end]):
        run = latest_run(out_dir, end)
        if run is not None:
            return run
    return None


def read_manifest(run_dir: str | Path) -> dict:
    """A run's manifest; OSError when it is not a regular file of a manifest's size, ValueError
    when it is not JSON."""
    data = read_small(Path(run_dir) / MANIFEST, MANIFEST_BYTES)
    if data is None:
        raise OSError(f"{MANIFEST} is missing, not a regular file, or over {MANIFEST_BYTES:,} B")
    manifest = json.loads(data.decode("utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{MANIFEST} is not a JSON object")
    return manifest


def verify_run(run_dir: str | Path) -> list[str]:
    """What is wrong with a run folder against its manifest (missing, extra or changed
    files); empty when the run is complete and intact."""
    run = Path(run_dir)
    try:
        listed = {f["path"]: f for f in read_manifest(run)["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{run}: no readable {MANIFEST} ({exc})"]
    found = {f["path"]: f for f in file_list(run)}
    problems = [f"{run}: {p} is missing" for p in sorted(listed.keys() - found.keys())]
    problems += [f"{run}: {p} is not in the manifest" for p in sorted(found.keys() - listed.keys())]
    problems += [
        f"{run}: {p} has changed since the run (SHA-256 differs)"
        for p in sorted(listed.keys() & found.keys())
        if listed[p]["sha256"] != found[p]["sha256"]
    ]
    return problems


# --- before the run: preflight, lock, staging -------------------------------------------------


def preflight(out_dir: str | Path, needed_bytes: int | None = None) -> Path:
    """Check, before any extract, that `out_dir` can take a run: a folder (made if missing,
    0700) that this process can write into, with room to spare. Raises OutputError."""
    out = Path(out_dir)
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            raise OutputError(
                f"output folder {out}: {parent} is a file, not a folder. Choose another --out."
            )
    try:
        ensure_private_dir(out)
        with Folder.open(out) as top, top.down(STATE_DIR) as state:
            probe = f".probe-{os.getpid()}-{secrets.token_hex(4)}"
            fd = state.create(probe)
            try:
                os.write(fd, b"cldetl")
            finally:
                os.close(fd)
                state.unlink(probe)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            f"output folder {out} cannot be written to ({exc.strerror or exc}). "
            "Check its permissions (or that the disk is not read-only), or choose another --out."
        ) from None
    needed = max(MIN_FREE_BYTES, needed_bytes or 0)
    free = shutil.disk_usage(out).free
    if free < needed:
        raise OutputError(
            f"output folder {out}: only {_size(free)} free on its disk; a run needs at least "
            f"{_size(needed)} (staging files and outputs). Free some space or choose another --out."
        )
    return out


def space_needed(out_dir: str | Path) -> int:
    """Twice the size of the latest run in the history (staging plus outputs), or 0."""
    sizes = []
    for end in periods(out_dir):
        run = latest_run(out_dir, end)
        if run is not None:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                sizes.append(sum(_file_bytes(f) for f in read_manifest(run)["files"]))
    return 2 * max(sizes, default=0)


def _file_bytes(entry) -> int:
    """A manifest entry's size: a whole number of bytes, else 0 (an earlier manifest someone
    edited is a hint to the free-space check, never a reason to stop)."""
    size = entry.get("bytes") if isinstance(entry, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0


@contextlib.contextmanager
def run_lock(out_dir: str | Path) -> Iterator[Path]:
    """Hold `<out>/.cldetl/lock` while a run writes into `out_dir`: a second run into the same
    folder stops at once with a clear message. The lock is the system's (fcntl's flock, or on
    Windows msvcrt's byte lock), released by the system when the process ends however it ends,
    so a killed run never blocks the next one."""
    path = Path(out_dir) / STATE_DIR / LOCK_FILE
    try:
        with Folder.open(out_dir) as top, top.down(STATE_DIR) as state:
            fd = state.open_file(LOCK_FILE, os.O_RDWR | os.O_CREAT | NONBLOCK)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            f"{path} cannot be opened as cldetl's lock file ({exc.strerror or exc}; a link "
            "planted there is never followed). Remove it, or choose another --out."
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            # A FIFO or device, or a hard link to some other file: never truncated.
            raise OutputError(
                f"{path} is not cldetl's lock file (not a regular file of its own). Remove "
                "it, or choose another --out."
            )
        if not _try_lock(fd):
            raise RunLockedError(
                f"another cldetl run (process {_holder(fd)}) is writing into {out_dir}; wait "
                "for it to finish, or choose another --out."
            )
        try:
            _write_holder(fd, f"{os.getpid()}\n")
            try:
                yield path
            finally:
                with contextlib.suppress(OSError):
                    _write_holder(fd, "")
        finally:
            _unlock(fd)
    finally:
        os.close(fd)  # releases the lock (fcntl)


# Windows locks byte ranges, and another process cannot read a locked byte: the lock is one
# byte far past the holder's pid (locking past the end of a file is allowed), so that the
# process refused can still read and name the holder.
WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(fd: int) -> bool:
    if hasattr(LOCKS, "flock"):
        try:
            LOCKS.flock(fd, LOCKS.LOCK_EX | LOCKS.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        LOCKS.locking(fd, LOCKS.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    """Windows asks for a lock to be released before the file is closed; flock needs not."""
    if not hasattr(LOCKS, "flock"):
        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            LOCKS.locking(fd, LOCKS.LK_UNLCK, 1)


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote (lseek and read: os.pread is not on Windows)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


def _write_holder(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode("ascii"))


@dataclass
class RunStaging:
    """A run being prepared inside the output area: `run_dir` becomes the published run
    folder, `extract_dir` holds the extract's Parquet files (never published)."""

    out_dir: Path
    folder: Path
    # The staging folder and its run/ folder, held open (None when built by hand, as tests do).
    held: Folder | None = None
    run: Folder | None = None

    @property
    def run_dir(self) -> Path:
        return self.folder / "run"

    @property
    def extract_dir(self) -> Path:
        return self.folder / "extract"

    def path(self, name: str) -> Path:
        return self.run_dir / name


def remove_stale_staging(out_dir: str | Path) -> list[Path]:
    """Remove staging folders left by killed runs. Call only while holding the run lock: then
    no other run is preparing anything, so every staging folder is stale."""
    with Folder.open(out_dir) as top, top.down(STATE_DIR) as state:
        return _clear_staging(state)


def _clear_staging(state: Folder) -> list[Path]:
    """Everything in `state`'s staging folder, removed without following a link: a link (or
    file) planted at the staging folder itself goes, what it points to is untouched."""
    info = state.lstat(STAGING_DIR)
    if info is None:
        return []
    if stat.S_ISDIR(info.st_mode):
        try:
            area = state.folder(STAGING_DIR, create=False)
        except OSError:  # swapped for a link since the lstat: removed below, never followed
            pass
        else:
            with area:
                removed = []
                for name in area.names():
                    area.remove(name)
                    removed.append(area.shown(name))
                return removed
    state.unlink(STAGING_DIR)
    return [state.shown(STAGING_DIR)]


@contextlib.contextmanager
def open_run(out_dir: str | Path, needed_bytes: int | None = None) -> Iterator[RunStaging]:
    """Preflight, lock, clear stale staging, and give a private staging folder that is removed
    when the block ends (published or not). The folders from <out> down to the run folder are
    held open: the run's files are created relative to the run folder's descriptor."""
    out = preflight(out_dir, needed_bytes if needed_bytes is not None else space_needed(out_dir))
    with run_lock(out), Folder.open(out) as top, top.down(STATE_DIR) as state:
        _clear_staging(state)
        with state.down(STAGING_DIR) as area:
            token = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}"
            with area.down(token) as folder:
                try:
                    with folder.down("run") as run, held(run):
                        yield RunStaging(out, area.shown(token), folder, run)
                finally:
                    area.remove(token)


# --- the manifest -----------------------------------------------------------------------------


def file_list(run_dir: Path) -> list[dict]:
    """Every file under the run folder (but the manifest): relative path, size, SHA-256. A
    run being staged is walked by its held descriptor (what was written, wherever its path
    now leads); a published run by path."""
    folder = held_folder(run_dir)
    if folder is None:
        names = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if _regular(p))
    else:
        names = folder.regular_files()
    files = []
    for relative in names:
        if relative == MANIFEST:
            continue
        digest = hashlib.sha256()
        if folder is None:
            fd = os.open(run_dir / relative, os.O_RDONLY | NOFOLLOW | NONBLOCK)
        else:
            fd = folder.open_below(relative)
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(fd).st_size
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
        files.append({"path": relative, "bytes": size, "sha256": digest.hexdigest()})
    return files


def _regular(path: Path) -> bool:
    """A regular file itself, not a link to one (nor a FIFO or device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def file_sha256(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def write_manifest(staging: RunStaging, about: dict) -> Path:
    """manifest.json: `about` (version, mapping hash, period, times, counts, exit status) and
    the file list with hashes. Written last, so it describes every file of the run."""
    manifest = {"manifest_format": MANIFEST_FORMAT, **about, "files": file_list(staging.run_dir)}
    path = staging.path(MANIFEST)
    write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", path, new=True)
    return path


# --- publication ------------------------------------------------------------------------------


def publish(staging: RunStaging, period_end: date, started: datetime) -> Path:
    """Make the staged run visible: one rename into its period folder, then switch the
    period's `latest` pointers. Returns the published run folder."""
    _sync_tree(staging.run_dir)
    with contextlib.ExitStack() as stack:
        try:
            top = stack.enter_context(Folder.open(staging.out_dir))
            folder = stack.enter_context(top.down(period_folder(staging.out_dir, period_end).name))
        except OutputError as exc:
            raise OutputError(
                f"{exc} Nothing was published: the period's latest run is unchanged."
            ) from None
        return _publish_into(staging, folder, period_end, started)


def _publish_into(staging: RunStaging, folder: Folder, period_end: date, started) -> Path:
    """`publish` once the period folder is held open."""
    existing = [
        int(_RUN_NAME.match(p.name).group(1)) for p in run_folders(staging.out_dir, period_end)
    ]
    sequence = max(existing, default=0) + 1
    # A name already taken (a folder or link planted there) is skipped: a rename onto an
    # empty folder would replace it, onto a link would fail.
    while folder.lstat(f"run-{sequence:04d}-{started:%Y%m%dT%H%M%SZ}") is not None:
        sequence += 1
    name = f"run-{sequence:04d}-{started:%Y%m%dT%H%M%SZ}"
    target = folder.shown(name)
    if staging.held is None:
        with Folder.open(staging.folder) as held_staging:
            rename(held_staging, folder, name)
    else:
        rename(staging.held, folder, name)
    if not folder.still_there():
        raise OutputError(
            f"the run was published as {name} in the folder that was at {folder.path} when the "
            "run began, but that folder has since been moved or replaced (someone else may have "
            "put a link there); its latest pointers were not switched. Look for the run by its "
            "name, and check who else writes into --out."
        )
    try:
        folder.fsync()
        switch_latest(folder, name)
    except OSError as exc:
        raise OutputError(
            f"the run was published as {target}, but the period's latest pointers could not "
            f"be switched to it ({exc.strerror or exc}); they still name the previous run. "
            "Fix the folder's permissions; the next run switches them."
        ) from None
    return target


def rename(staging: Folder, folder: Folder, name: str) -> None:
    """The publication step (a seam for fault-injection tests): one atomic rename of the
    staging folder's run/ to `folder/name`, each side relative to its held folder."""
    move(staging, "run", folder, name, replace=False)


def switch_latest(folder: Folder | Path, name: str) -> None:
    """Point `latest` (symlink) and `latest.json` at run `name`, each by one atomic replace.

    Called once the run folder is published: a pointer that cannot be switched (a real folder
    planted at `latest`) is an OutputError that says the run WAS published and where, and
    leaves no temporary file behind. `folder` is the period folder, held open (or its path,
    opened here)."""
    if not isinstance(folder, Folder):
        with Folder.open(folder) as opened:
            return switch_latest(opened, name)
    refused: list[Path] = []
    tmp = f".{LATEST}.{os.getpid()}.tmp"
    folder.remove(tmp)  # a link left there is removed, never followed
    try:
        folder.symlink(name, tmp)
    except (OSError, NotImplementedError):  # pragma: no cover - Windows without the privilege
        pass
    else:
        try:
            _switch(folder, tmp, LATEST, refused)
        finally:
            folder.remove(tmp)
    pointer = {"run": name, "manifest": f"{name}/{MANIFEST}"}
    tmp = f".{LATEST_POINTER}.{os.getpid()}.tmp"
    folder.remove(tmp)
    try:
        with held(folder):
            write_text(json.dumps(pointer, indent=2) + "\n", folder.shown(tmp), new=True)
        _switch(folder, tmp, LATEST_POINTER, refused)
    finally:
        folder.remove(tmp)
    folder.fsync()
    if refused:
        raise OutputError(
            f"the run was published as {folder.shown(name)}, but "
            + " and ".join(str(p) for p in refused)
            + " could not be pointed at it: not cldetl's (a folder someone put there?), so "
            "left as they are. Remove or rename them; the next run switches them."
        )


def _switch(folder: Folder, tmp: str, pointer: str, refused: list[Path]) -> None:
    """Replace `pointer` by `tmp` (atomic), unless `pointer` is a real folder: a folder is
    never replaced, removed or written into; it is listed in `refused`."""
    info = folder.lstat(pointer)
    if info is not None and stat.S_ISDIR(info.st_mode):
        refused.append(folder.shown(pointer))
        return
    replace(folder, tmp, pointer)


def replace(folder: Folder, source: str, target: str) -> None:
    """A pointer switch (a seam for fault-injection tests): one atomic os.replace in the
    held period folder."""
    move(folder, source, folder, target, replace=True)


def _sync_tree(root: Path) -> None:
    """Flush the staged files to disk before they are published (a power cut after the
    rename must not leave a published run with empty files)."""
    with contextlib.ExitStack() as stack:
        folder = held_folder(root) or stack.enter_context(Folder.open(root))
        for relative in folder.regular_files():
            fd = folder.open_below(relative)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        folder.fsync() if folder.fd is not None else _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MiB"
