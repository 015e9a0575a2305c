"""A throwaway PostgreSQL server for tests: nothing is installed, nothing outlives the session.

`postgres_server` (session fixture) finds the PostgreSQL binaries (Debian's package puts them in
/usr/lib/postgresql/<version>/bin; `apt-get install -y postgresql` provides them), runs
`initdb` into a private temporary folder and starts the server on a free port on 127.0.0.1,
with its socket in that folder; at the end of the session it stops the server (`pg_ctl stop -m
fast`) and removes the folder. PostgreSQL refuses to run as root, so as root the commands run
as the `postgres` OS user (`runuser -u postgres --`), the folder owned by that user.

Tests skip (with the reason) when the binaries, the `postgres` user or the psycopg driver are
missing. Use it with:

    from tests.pg import postgres_server  # noqa: F401  (the fixture)

    def test_something(postgres_server):
        url = postgres_server.create_database("eastmoor")
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PREFERRED_VERSIONS = ("15", "16", "17", "14", "13")
DEBIAN_BIN = Path("/usr/lib/postgresql")
INSTALL_HINT = "apt-get update && apt-get install -y postgresql"


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's versioned folder (15 preferred), or
    the PATH."""
    for version in PREFERRED_VERSIONS:
        candidate = DEBIAN_BIN / version / "bin"
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    if DEBIAN_BIN.is_dir():
        for candidate in sorted(DEBIAN_BIN.glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: `url(db)` for a database, `create_database(name)` to add one."""

    port: int
    folder: Path
    bin_dir: Path
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create (or re-create) database `name`; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )


def _unavailable(reason: str):
    """Skip on a developer's machine without PostgreSQL; fail in CI, which must have it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(reason)


def _start() -> PostgresServer:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]')")
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _unavailable(f"PostgreSQL binaries not found; install them with: {INSTALL_HINT}")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="cldetl-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable(f"no 'postgres' OS user to run PostgreSQL as root; {INSTALL_HINT}")
        runuser = shutil.which("runuser")
        as_user = [runuser, "-u", "postgres", "--"] if runuser else []
        if not as_user:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable("runuser is not available to run PostgreSQL as the postgres user")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)
    server = PostgresServer(free_port(), folder, bin_dir, as_user)
    data = folder / "data"
    init = server.run(
        str(bin_dir / "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", str(data)
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    start = server.run(
        str(bin_dir / "pg_ctl"), "-w", "-D", str(data), "-o", options,
        "-l", str(folder / "server.log"), "start",
    )  # fmt: skip
    if start.returncode != 0:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{log}")
    return server


def _stop(server: PostgresServer) -> None:
    server.run(str(server.bin_dir / "pg_ctl"), "-w", "-D", str(server.folder / "data"),
               "-m", "fast", "stop")  # fmt: skip
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the whole test session (see the module docstring)."""
    server = _start()
    try:
        yield server
    finally:
        _stop(server)
