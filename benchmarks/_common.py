"""The one helper module of the benchmarks in benchmarks/: what every script shares.

- `spawn`, `run_child`, `dispatch_child`: run a child process to completion through GNU time,
  for its wall time, CPU time and peak RSS (its own, not the parent's), and hand it its
  measurement;
- in a child: `rss_mib`, `peak_mib` and `StagePeaks`, which resets the kernel's peak-RSS mark
  (`/proc/self/clear_refs`) so that each stage's own peak can be read; `cldetl_modules`;
- `build_example`, `sqlite_facts`, `table_rows`: the example databases in SQLite;
- `machine`, `machine_facts`, `machine_line`, `revision`, `source_hashes`, `changed_files`,
  `change_note`: what was measured, and on what;
- `update_doc`: replace one script's generated block in docs/benchmarks.md, leaving the rest of
  the file (other scripts' blocks, hand-written text) as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time
MAPPING = ROOT / "mappings" / "eastmoor.yaml"
URL_ENV = "EASTMOOR_DB_URL"
PERIOD_END = dt.date(2025, 9, 30)
SEED = 2025


# --- In a child process ----------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib(pid: int | str = "self") -> float:
    """A process's peak RSS since exec (or since the last `reset_peak`): VmHWM. Exec resets
    it, where ru_maxrss would keep the peak of the parent that forked the process."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    if pid != "self":
        return 0.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class StagePeaks:
    """Peak RSS per stage: `start(name)` resets the peak mark, `stop()` reads it.

    Resetting VmHWM also lowers what the kernel reports as the whole process's peak at exit
    (GNU time's figure), so the process peak is the largest of the stage peaks and the peak
    seen before the first reset (imports, loading inputs): `overall`.
    """

    def __init__(self) -> None:
        self.before_first = peak_mib()
        self.resettable = True
        self.overall = self.before_first

    def start(self) -> float:
        self.overall = max(self.overall, peak_mib())
        self.resettable = reset_peak() and self.resettable
        return rss_mib()

    def stop(self) -> float:
        peak = peak_mib()
        self.overall = max(self.overall, peak)
        return peak


def preimport() -> None:
    """What both the pipeline and the floor need before their clocks start."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sqlalchemy  # noqa: F401


def cldetl_modules() -> list[str]:
    """The cldetl source files this process imported (to tell whether they changed mid-run)."""
    out = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(ROOT / "cldetl"):
            out.append(str(Path(path).resolve().relative_to(ROOT)))
    return sorted(out)


# --- In the parent ---------------------------------------------------------------------------


def dispatch_child(argv: list[str], children: dict) -> bool:
    """`script --child KIND ARGS...`: run `children[KIND](*ARGS)`; False when not a child."""
    if argv[:1] != ["--child"]:
        return False
    if argv[1] not in children:
        raise SystemExit(f"unknown child {argv[1]!r}")
    children[argv[1]](*argv[2:])
    return True


def argument_parser(
    doc: str, out_help: str, repeat_help: str = "runs of each measurement"
) -> argparse.ArgumentParser:
    """A benchmark's command line, with the options they all have: --repeat, --seed and --out
    (the Markdown file whose section the script rewrites)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help=repeat_help)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help=out_help)
    return parser


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def spawn(argv: list[str], env: dict[str, str] | None = None, stdout=subprocess.DEVNULL) -> dict:
    """Run a child to completion: its wall time, CPU time (user + system) and peak RSS.

    The child is started through GNU time, a process of a few MB, whose figure is the child's
    own (a forked child otherwise inherits the parent's ru_maxrss). Without /usr/bin/time,
    wait4's rusage is used.
    """
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as timed:
        command = [TIME, "-f", "%M %U %S", "-o", timed.name, *argv] if TIME else argv
        wall = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env or environment(), stdout=stdout, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        report = timed.read().split("\n") if TIME else []
    maxrss_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    numbers = [line.split() for line in report if line.strip()]
    if numbers and len(numbers[-1]) == 3:  # "Command exited with non-zero status" comes first
        maxrss_kib = int(numbers[-1][0])
        cpu = float(numbers[-1][1]) + float(numbers[-1][2])
    return {
        "process_wall": wall,
        "process_cpu": cpu,
        "maxrss_mib": maxrss_kib / 1024,
        "rss_source": "GNU time" if numbers else "wait4",
        "exit": code,
        "stderr": stderr,
        "load": max(load, os.getloadavg()[0]),
    }


def run_child(
    script: str,
    args: list[str],
    env_extra: dict[str, str] | None = None,
    stdout=subprocess.DEVNULL,
) -> dict:
    """Run `python script --child ARGS... RESULT.json` and merge its JSON into spawn's dict."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result = handle.name
    try:
        argv = [sys.executable, script, "--child", *args, result]
        run = spawn(argv, env=environment(env_extra), stdout=stdout)
        if run["exit"] != 0:
            raise RuntimeError(
                f"child {' '.join(args[:1])} failed (exit {run['exit']}):\n{run['stderr'][-3000:]}"
            )
        run.update(json.loads(Path(result).read_text()))
    finally:
        Path(result).unlink(missing_ok=True)
    return run


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def build_example(rows_target: int, folder: Path, seed: int = SEED) -> dict:
    """Build the Eastmoor example at about `rows_target` source rows (SQLite), in a subprocess.

    Returns {path, url, tables: {table: rows}, rows, seconds}.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"eastmoor_{rows_target}_seed{seed}.db"
    path.unlink(missing_ok=True)
    argv = [
        sys.executable,
        str(ROOT / "examples" / "mosaic_liquidlogic" / "generate.py"),
        "--system",
        "mosaic",
        "--rows-target",
        str(rows_target),
        "--seed",
        str(seed),
        "--url",
        sqlite_url(path),
    ]
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the example failed:\n{done.stderr[-3000:]}")
    people = ""
    for line in done.stdout.splitlines():
        if line.startswith("total") and "random people" in line:
            people = line.split("(", 1)[1].split(" random people")[0]
    return sqlite_facts(path, began, people=people)


def sqlite_facts(path: Path, began: float, **more) -> dict:
    """{path, url, tables: {table: rows}, rows, seconds (since `began`), bytes} of a SQLite
    database just built or found, with `more` added."""
    tables = table_rows(path)
    return {
        "path": str(path),
        "url": sqlite_url(path),
        "tables": tables,
        "rows": sum(tables.values()),
        "seconds": time.perf_counter() - began,
        "bytes": Path(path).stat().st_size,
        **more,
    }


def table_rows(path: Path | str) -> dict[str, int]:
    with sqlite3.connect(str(path)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def template_tables(mapping_path: Path = MAPPING) -> list[str]:
    """The database tables the mapping's templates read (its `params.identifiers`)."""
    from cldetl.mapping import load_mapping

    mapping = load_mapping(mapping_path)
    tables: list[str] = []
    for source in mapping.sources.values():
        if source.template is None:
            continue
        for table in source.params.identifiers.values():
            if table not in tables:
                tables.append(table)
    return tables


def warm(path: str | Path) -> None:
    """Read a file once so that every measurement finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def machine(inputs: list[Path] | None = None) -> dict:
    """The machine, the library versions and the sources measured (`source_hashes(inputs)`)."""
    from importlib.metadata import version

    model, mem_kib = "", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for package in ("pandas", "pyarrow", "numpy", "sqlalchemy"):
        try:
            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[package] = "not installed"
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "ram_gib": mem_kib / 2**20,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **versions,
        "revision": revision(),
        "hashes": source_hashes(inputs),
    }


def machine_summary(m: dict) -> str:
    """One line for the console: CPUs, memory, Python, pandas, pyarrow."""
    return (
        f"{m['cpus']} CPUs, {m['ram_gib']:.1f} GiB, Python {m['python']}, "
        f"pandas {m['pandas']}, pyarrow {m['pyarrow']}"
    )


LIBRARIES = {
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "numpy": "numpy",
    "sqlalchemy": "SQLAlchemy",
    "sqlite": "SQLite",
}


def machine_facts(m: dict, libraries: tuple[str, ...] = tuple(LIBRARIES)) -> str:
    """'**Machine:** CPUs (model), RAM, OS; Python and `libraries` (keys of LIBRARIES).'"""
    return (
        f"**Machine:** {m['cpus']} CPUs ({m['cpu_model'] or 'unknown model'}), "
        f"{m['ram_gib']:.1f} GiB RAM, {m['os']}; Python {m['python']}, "
        + ", ".join(f"{LIBRARIES[k]} {m[k]}" for k in libraries)
        + "."
    )


def machine_line(m: dict, loads: list[float]) -> str:
    # The measured child keeps one CPU busy itself: a load much above 1 means other work.
    busy = max(loads) > 1.25
    low, high = min(loads), max(loads)
    span = f"about {high:.1f}" if high - low < 0.15 else f"{low:.1f} to {high:.1f}"
    return (
        machine_facts(m)
        + f" 1-minute load average during the runs: {span}"
        + (
            " (other processes were using the CPUs as well as the one measured: wall times are "
            "noisy, CPU times are the steadier comparison)."
            if busy
            else " (the measured process itself accounts for about 1: the machine was "
            "otherwise idle)."
        )
    )


def revision() -> str:
    """The commit measured, and whether cldetl/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "cldetl"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    changed = sorted(line[3:] for line in dirty if line.strip())
    if not changed:
        return f"commit {head}"
    shown = ", ".join(f"`{c}`" for c in changed[:8]) + (" ..." if len(changed) > 8 else "")
    return f"commit {head} with uncommitted changes in {shown}"


def database_inputs() -> list[Path]:
    """What the database benchmarks read besides cldetl/: the Eastmoor mapping, the Mosaic
    templates and the large authority's mapping and templates."""
    return [
        MAPPING,
        *sorted((ROOT / "connectors" / "mosaic").glob("*.j2")),
        *sorted((ROOT / "benchmarks" / "large_authority").rglob("*.*")),
    ]


def source_hashes(inputs: list[Path] | None = None) -> dict[str, str]:
    """A hash of each cldetl source and spec file and of `inputs` (default
    `database_inputs()`), to tell what changed during a run."""
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((ROOT / "cldetl").rglob("*"))
        if path.suffix in (".py", ".yaml") and path.is_file()
    } | {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (database_inputs() if inputs is None else inputs)
        if path.is_file()
    }


def digest(hashes: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(hashes.items())).encode()).hexdigest()[:10]


def changed_files(before: dict[str, str], after: dict[str, str], used: set[str]):
    """Files changed during the run: (those the measurements imported or read, the others)."""
    changed = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
    always = {str(MAPPING.relative_to(ROOT)), "cldetl/spec/release2.yaml"}
    always |= {f for f in changed if f.startswith(("connectors/", "benchmarks/large_authority/"))}
    return (
        [f for f in changed if f in used or f in always],
        [f for f in changed if f not in used and f not in always],
    )


def change_note(used: list[str], unused: list[str], unused_by: str = "here") -> list[str]:
    """Paragraphs naming the files changed during the run (`changed_files`), if any."""
    named = [
        (files, text)
        for files, text in (
            (
                used,
                "**cldetl changed during this run** in files the measurements use ({}): "
                "the numbers may mix two versions. Run again.",
            ),
            (unused, f"Changed during the run, but not used {unused_by}: {{}}."),
        )
        if files
    ]
    lines = []
    for files, text in named:
        lines += [text.format(", ".join(f"`{f}`" for f in files)), ""]
    return lines


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def verdict(ok: bool, met: str = "**MET**") -> str:
    return met if ok else "**MISSED**"


HEADER = (
    "# Benchmarks\n\nHow cldetl performs on large files. Each section is written by its script "
    "in `benchmarks/`; text outside the generated blocks is kept when a script rewrites its "
    "block.\n"
)


def update_doc(path: Path, section: str, intro: str, begin: str, end: str, block: str) -> None:
    """Replace the block between `begin` and `end`; if absent, append `section` + `intro` +
    block at the end of the file. Nothing else in the file changes. The file is read just
    before it is written, so another script's block written meanwhile is kept."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + block.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{intro.strip()}\n\n{block.rstrip()}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
