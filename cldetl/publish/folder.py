"""`Folder`: a folder under --out held open, so that nothing done in it can be redirected.

An output folder may be on a shared drive others can write to (issue 19, point 3). Checking a
path and then using it leaves a gap: between the check (lstat: "a real folder") and the use
(create, rename, remove), someone can swap the folder for a symbolic link to a folder of
theirs, and the write (personal data) or the clean-up goes there. So on POSIX every folder
cldetl works in under --out is opened ONCE (O_DIRECTORY | O_NOFOLLOW) and everything after
is relative to that descriptor: sub-folders opened with `os.open(name, O_DIRECTORY |
O_NOFOLLOW, dir_fd=...)`, files created O_EXCL | O_NOFOLLOW with `dir_fd`, renames and
replaces with `src_dir_fd`/`dst_dir_fd`, removals with `dir_fd` and `shutil.rmtree(dir_fd=...)`
(which walks by descriptor and never follows a link). A folder renamed or swapped after it
was opened does not move what cldetl does: the descriptor still names the folder that was
checked.

Where the system lacks these (`os.supports_dir_fd` without them: Windows), a Folder holds its
path instead, and each use is checked as before (lstat: a real folder, never a link) plus a
check that the resolved path stays inside --out (the issue allows this). There is still a gap
between that check and the use on such systems; Windows rarely lets a user without the
privilege create symbolic links at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from cldetl.errors import CldetlError

FILE_MODE, DIR_MODE = 0o600, 0o700
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO opened for a read must not hang the run
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Descriptor-relative operations, all of them or none (os.replace shares os.rename's renameat).
AT = (
    bool(DIRECTORY and NOFOLLOW)
    and {os.open, os.mkdir, os.rename, os.unlink, os.stat, os.symlink} <= os.supports_dir_fd
    and shutil.rmtree.avoids_symlink_attacks
)


class OutputError(CldetlError):
    """The output folder cannot take a run: not a folder, read-only, full, or in use."""


class Folder:
    """A folder under --out: `path` for messages, `fd` (POSIX) for every use. `root` is the
    resolved --out, for the path-based fallback's "stays inside" check. Close it (or use it
    as a context manager) when done."""

    def __init__(self, path: Path, fd: int | None, root: Path) -> None:
        self.path, self.fd, self.root = Path(path), fd, root

    @classmethod
    def open(cls, path: str | Path) -> Folder:
        """The output folder itself (the user's --out), opened once. --out is the user's own
        choice, so a link at its own name (e.g. to a shared drive) is followed, once, here:
        its target is opened and everything after goes by that open folder; any link under
        it is refused."""
        path = Path(path)
        if not AT:
            refuse_unless_folder(Path(os.path.realpath(path)))
            return cls(path, None, Path(os.path.realpath(path)))
        try:
            fd = os.open(os.path.realpath(path), os.O_RDONLY | DIRECTORY | NOFOLLOW)
        except OSError as exc:
            if _is_link_or_not_folder(path):
                refuse_unless_folder(path)
            raise exc
        return cls(path, fd, path)

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def shown(self, name: str) -> Path:
        return self.path / name

    def _place(self, name: str) -> Path:
        """The fallback's path for `name`: OutputError unless this folder, resolved, is still
        inside --out (a folder swapped for a link since it was checked)."""
        where = Path(os.path.realpath(self.path))
        if where != self.root and self.root not in where.parents:
            raise OutputError(
                f"{self.path} now leads outside the output folder {self.root} (a link put "
                "there since it was checked?); nothing is written there. Remove it, or choose "
                "another --out."
            )
        return self.path / name

    def folder(self, name: str, create: bool = True) -> Folder:
        """The sub-folder `name` (made 0700 when missing and `create`), opened without
        following a link: a link, file, FIFO or device there is an OutputError."""
        if create:
            with contextlib.suppress(FileExistsError):
                if self.fd is None:
                    os.mkdir(self._place(name), DIR_MODE)
                else:
                    os.mkdir(name, DIR_MODE, dir_fd=self.fd)
        if self.fd is None:
            refuse_unless_folder(self._place(name))
            return Folder(self.path / name, None, self.root)
        try:
            fd = os.open(name, os.O_RDONLY | DIRECTORY | NOFOLLOW, dir_fd=self.fd)
        except OSError as exc:
            info = self.lstat(name)
            if info is not None:
                _refuse(self.shown(name), info)
            raise exc
        return Folder(self.path / name, fd, self.root)

    def down(self, *parts: str, create: bool = True) -> Folder:
        """The folder `parts` below this one, each step opened as `folder` opens it; the
        folders on the way are closed, this one is left open."""
        current = self
        for part in parts:
            try:
                below = current.folder(part, create)
            finally:
                if current is not self:
                    current.close()
            current = below
        return current if current is not self else Folder(self.path, _dup(self.fd), self.root)

    def regular_files(self) -> list[str]:
        """Every regular file below this folder (not a link, FIFO or device), as relative
        POSIX paths, sorted; walked by descriptor (os.fwalk follows no link)."""
        found = []
        if self.fd is None:
            base = self._place(".")
            for path in base.rglob("*"):
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        found.append(path.relative_to(base).as_posix())
            return sorted(found)
        for top, _dirs, files, dir_fd in os.fwalk(".", dir_fd=self.fd):
            for name in files:
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                        found.append(os.path.normpath(os.path.join(top, name)))
        return sorted(Path(p).as_posix() for p in found)

    def open_below(self, relative: str) -> int:
        """`relative` (from `regular_files`) opened for reading, never through a link."""
        *folders, name = relative.split("/")
        with self.down(*folders, create=False) as folder:
            return folder.open_file(name, os.O_RDONLY | NONBLOCK)

    def still_there(self) -> bool:
        """Whether `path` still names the folder held open (not moved away, nor swapped for a
        link since): what a message may tell the user to look at."""
        if self.fd is None:
            return True
        try:
            named, held = os.stat(self.path, follow_symlinks=False), os.fstat(self.fd)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def open_file(self, name: str, flags: int, mode: int = FILE_MODE) -> int:
        """os.open of `name` in this folder, never through a link (O_NOFOLLOW)."""
        if self.fd is None:
            return os.open(self._place(name), flags | NOFOLLOW, mode)
        return os.open(name, flags | NOFOLLOW, mode, dir_fd=self.fd)

    def create(self, name: str) -> int:
        """A new file `name`, 0600, for writing: a file or link already there makes it fail."""
        return self.open_file(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)

    def lstat(self, name: str) -> os.stat_result | None:
        """`name`'s own status (a link is not followed); None when nothing is there."""
        try:
            if self.fd is None:
                return os.lstat(self._place(name))
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        return sorted(os.listdir(self.fd if self.fd is not None else self._place(".")))

    def unlink(self, name: str) -> None:
        """Remove the file or link `name` (a link goes, what it points to is untouched)."""
        with contextlib.suppress(FileNotFoundError):
            if self.fd is None:
                os.unlink(self._place(name))
            else:
                os.unlink(name, dir_fd=self.fd)

    def remove(self, name: str) -> None:
        """Remove `name` without following a link: a link or file is unlinked, a real folder
        removed with everything in it by a walk that never follows a link (shutil.rmtree by
        descriptor; on the fallback, rmtree of the checked path)."""
        info = self.lstat(name)
        if info is None:
            return
        if not stat.S_ISDIR(info.st_mode):
            self.unlink(name)
        elif self.fd is None:
            shutil.rmtree(self._place(name), ignore_errors=True)
        else:
            shutil.rmtree(name, ignore_errors=True, dir_fd=self.fd)

    def symlink(self, target: str, name: str) -> None:
        if self.fd is None:
            os.symlink(target, self._place(name), target_is_directory=True)
        else:
            os.symlink(target, name, target_is_directory=True, dir_fd=self.fd)

    def fsync(self) -> None:
        """Flush the folder's entries (a rename) to disk, where a folder can be flushed."""
        with contextlib.suppress(OSError):
            if self.fd is not None:
                os.fsync(self.fd)


def move(source: Folder, name: str, target: Folder, new_name: str, *, replace: bool) -> None:
    """Rename `source/name` to `target/new_name` (os.replace when `replace`), each side
    relative to its folder's descriptor: a folder swapped for a link since it was opened does
    not change where the entry goes."""
    step = os.replace if replace else os.rename
    if source.fd is None or target.fd is None:
        step(source._place(name), target._place(new_name))
    else:
        step(name, new_name, src_dir_fd=source.fd, dst_dir_fd=target.fd)


def _dup(fd: int | None) -> int | None:
    return None if fd is None else os.dup(fd)


# The folders cldetl holds open while it writes into them (a run's staging folder): a file
# created by path in one of them (cldetl.publish.write, used by every stage that writes a file
# of the run) is created relative to its descriptor instead, so a swap of any folder on the
# way cannot redirect it.
_HELD: dict[str, Folder] = {}


@contextlib.contextmanager
def held(folder: Folder):
    """Register `folder` as held open for the block (see `held_folder`)."""
    key = os.path.abspath(folder.path)
    _HELD[key] = folder
    try:
        yield folder
    finally:
        _HELD.pop(key, None)


def held_folder(path: Path) -> Folder | None:
    """The held Folder that `path` names, if any."""
    return _HELD.get(os.path.abspath(path))


def _is_link_or_not_folder(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode)


def refuse_unless_folder(path: Path) -> None:
    """OutputError unless `path` is a real folder (not a link to one)."""
    _refuse(path, os.lstat(path))


def _refuse(path: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        what = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder"
        raise OutputError(
            f"{path} is {what}; cldetl writes only into real folders inside the output folder "
            "(someone else may have put it there). Remove it, or choose another --out."
        )
