"""Benchmark `cldetl validate` against merely reading the same file.

Generates a valid CLD Release 2 file (benchmarks/_generate.py) and, in the same run, times each
of these in its own subprocess, so that every peak RSS belongs to one measurement:

  (a) pyarrow.csv.read_csv, every column as text;
  (b) pandas.read_csv(dtype=str, keep_default_na=False), the default (C) engine;
  (c) cldetl.validate.csvfile.read_cld_csv;
  (d) the command line: python -m cldetl validate FILE --format json > /dev/null;
  (e) the library call cldetl.validate.validate(path), timing each check module.

Runs are interleaved (a b c d e a b c d e ...) and the median of --repeat is kept, so that load
from other processes spreads over all measurements. The peer figure, the Great Expectations
suite cldetl builds (cldetl.report.ge_appendix), runs once on the first --ge-rows rows and is scaled
linearly to the whole file (stated as such in the report). Targets: validate within 5x of the
pyarrow read, peak memory under 3 GiB.

    python benchmarks/validate.py                                  # 1,000,000 rows
    python benchmarks/validate.py --rows 100000 1000000 --out docs/benchmarks.md
    python benchmarks/validate.py --rows 1000000 --repeat 1 --profile   # + cProfile of (e)
    python benchmarks/validate.py --render /tmp/cldetl_bench_results.json --out docs/benchmarks.md
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

ROOT = common.ROOT
TARGET_RATIO = 5.0
TARGET_MEMORY_MIB = 3 * 1024
BEGIN = "<!-- benchmarks/validate.py: begin (generated; rerun the script to update) -->"
END = "<!-- benchmarks/validate.py: end -->"
SECTION = "## Validate"
MET = "**met**"
INTRO = (
    "`benchmarks/validate.py` generates a valid file (`benchmarks/_generate.py`) "
    "and times `cldetl validate` against merely reading the same file with pyarrow "
    "and with pandas, in the same run. Targets: validate within "
    f"{TARGET_RATIO:g}x of the read, peak memory under 3 GiB. `make bench` runs it."
)

MEASUREMENTS = {
    "pyarrow": "(a) `pyarrow.csv.read_csv`, all columns text",
    "pandas": "(b) `pandas.read_csv(dtype=str, keep_default_na=False)`",
    "read_cld_csv": "(c) `cldetl.validate.csvfile.read_cld_csv`",
    "cli": "(d) `python -m cldetl validate FILE --format json > /dev/null`",
    "validate": "(e) `cldetl.validate.validate(path)`",
}


# --- In the child process -------------------------------------------------------------------


def _findings(sink) -> int:
    return sum(len(part) for part in getattr(sink, "_parts", ()))


def _instrument(steps: list[dict]) -> None:
    """Wrap the batch reader, each check module's `check` (called once per batch, in two
    threads), the whole-file steps and the findings frame, so that every call adds its time
    and findings to its step. Times are summed over calls and threads: thread CPU time
    (`time.thread_time`), which for the reader leaves out Arrow's own threads."""
    import threading

    import cldetl.validate as validate_module
    from cldetl.validate.checks import dates, file_level, headers, portal
    from cldetl.validate.csvfile import CldStream
    from cldetl.validate.findings import FindingSink

    lock = threading.Lock()
    by_name: dict[str, dict] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            sink = getattr(args[0], "sink", None) if args else None
            before = _findings(sink)
            if os.getpid() != parent and not inherited:
                # The first call in a worker: what it inherited from the parent is not its own.
                inherited.update({k: dict(v) for k, v in by_name.items()}, pid=os.getpid())
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    if name not in by_name:
                        by_name[name] = {"step": name, "seconds": 0.0, "cpu": 0.0, "calls": 0}
                        by_name[name]["findings"] = 0 if sink is not None else None
                        steps.append(by_name[name])
                    step = by_name[name]
                    step["seconds"] += time.perf_counter() - wall
                    step["cpu"] += time.thread_time() - cpu
                    step["calls"] += 1
                    if sink is not None:
                        step["findings"] += _findings(sink) - before
                    step["rss_mib"], step["peak_mib"] = common.rss_mib(), common.peak_mib()
                    if os.getpid() != parent:
                        # A worker process (validate checks large files in processes): its
                        # steps so far, for the parent to add up after the call.
                        own = [_less(st, inherited.get(st["step"])) for st in steps]
                        Path(WORKER_STEPS, f"{os.getpid()}.json").write_text(json.dumps(own))

        return wrapper

    parent = os.getpid()
    inherited: dict = {}

    CldStream.parse = timed("CldStream.parse (read a batch)", CldStream.parse)
    portal.check_file = timed("checks.portal.check_file", portal.check_file)
    headers.check = timed("checks.headers", headers.check)
    for module in validate_module.CHECKS:
        module.check = timed("checks." + module.__name__.rsplit(".", 1)[-1], module.check)
    file_level.count = timed("file_level.count (summary counts)", file_level.count)
    dates.finish = timed("dates.finish (the period)", dates.finish)
    file_level.finish = timed("file_level.finish (repeats)", file_level.finish)
    file_level.settle = timed("file_level.settle", file_level.settle)
    FindingSink.frame = timed("FindingSink.frame", FindingSink.frame)


WORKER_STEPS = tempfile.mkdtemp(prefix="cldetl_bench_steps_") if "--child" in sys.argv else ""


def _less(step: dict, before: dict | None) -> dict:
    if before is None:
        return step
    out = dict(step)
    for key in ("seconds", "cpu", "calls"):
        out[key] = step[key] - before[key]
    if step.get("findings") is not None:
        out["findings"] = step["findings"] - (before.get("findings") or 0)
    return out


def _add_worker_steps(steps: list[dict]) -> None:
    """Add the worker processes' step times (each wrote its own file) to the parent's."""
    by_name = {s["step"]: s for s in steps}
    for file in sorted(Path(WORKER_STEPS).glob("*.json")):
        for step in json.loads(file.read_text()):
            into = by_name.get(step["step"])
            if into is None:
                by_name[step["step"]] = into = dict(step, seconds=0.0, cpu=0.0, calls=0)
                into["findings"] = 0 if step.get("findings") is not None else None
                steps.append(into)
            for key in ("seconds", "cpu", "calls"):
                into[key] += step[key]
            if step.get("findings") is not None:
                into["findings"] = (into.get("findings") or 0) + step["findings"]
            into["peak_mib"] = max(into.get("peak_mib", 0), step["peak_mib"])
    shutil.rmtree(WORKER_STEPS, ignore_errors=True)


CHILDREN = ("pyarrow", "pandas", "read_cld_csv", "validate", "ge")


def child(kind: str, path: str, profile: str, result: str) -> None:
    """Run one measurement and write its numbers to `result` (JSON); `profile`: where to
    write a cProfile of it ("" for none)."""
    out: dict = {"kind": kind}
    steps: list[dict] = []
    if kind in ("read_cld_csv", "validate"):
        # cldetl imports these lazily, inside the call; import them before the clock starts,
        # as pandas.read_csv's child has pandas imported.
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow.csv  # noqa: F401
    if kind == "pyarrow":
        import csv

        import pyarrow as pa
        import pyarrow.csv as pacsv

        with open(path, encoding="utf-8-sig", newline="") as f:
            names = next(csv.reader(f))
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})

        def run():
            return pacsv.read_csv(path, convert_options=convert).num_rows

    elif kind == "pandas":
        import pandas as pd

        def run():
            return len(pd.read_csv(path, dtype=str, keep_default_na=False))

    elif kind == "read_cld_csv":
        from cldetl.validate.csvfile import read_cld_csv

        def run():
            return read_cld_csv(path).rows

    elif kind == "validate":
        from cldetl.spec import load_spec
        from cldetl.validate import validate

        load_spec()
        _instrument(steps)

        def run():
            report = validate(path)
            out["errors"], out["warnings"] = report.errors, report.warnings
            out["top_rules"] = report.by_rule().head(10).to_dict("records")
            return report.rows

    elif kind == "ge":
        # The peer figure: the Great Expectations suite cldetl builds from the spec
        # (cldetl.report.ge_appendix: expectations, validation and its Data Docs) on the same rows.
        from cldetl.report.ge_appendix import build_ge_report
        from cldetl.validate import validate
        from cldetl.validate.csvfile import read_cld_csv

        table = read_cld_csv(path)
        report = validate(table)
        docs = tempfile.mkdtemp(prefix="cldetl_bench_ge_")

        def run():
            try:
                build_ge_report(table, report, docs)
            finally:
                shutil.rmtree(docs, ignore_errors=True)
            return table.rows

    else:
        raise SystemExit(f"unknown measurement {kind!r}")

    out["rss_before_mib"] = common.rss_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    wall, cpu, workers_cpu = time.perf_counter(), time.process_time(), children_cpu()
    out["rows"] = run()
    out["seconds"] = time.perf_counter() - wall
    # validate checks a large file in worker processes: their CPU time is the call's too.
    out["workers_cpu"] = children_cpu() - workers_cpu
    out["cpu"] = time.process_time() - cpu + out["workers_cpu"]
    out["workers_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if kind == "validate":
        _add_worker_steps(steps)
    if profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(r"cldetl", 40)
    out["peak_mib"] = common.peak_mib()
    out["steps"] = steps
    out["modules"] = common.cldetl_modules()
    Path(result).write_text(json.dumps(out))


# --- In the parent process ------------------------------------------------------------------


def measure(kind: str, path: str, profile: str | None = None) -> dict:
    if kind == "cli":
        argv = [sys.executable, "-m", "cldetl", "validate", path, "--format", "json"]
        run = common.spawn(argv)
        if run["exit"] not in (0, 1):
            raise RuntimeError(f"cldetl validate exited {run['exit']}: {run['stderr'][-2000:]}")
        return run
    args = [kind, path, profile or ""]
    run = common.run_child(__file__, args, stdout=None if profile else subprocess.DEVNULL)
    if run.get("workers_peak_mib"):
        # GNU time gives the largest single process; the workers run beside the parent,
        # so count the parent's peak and each worker's (pages they share count twice).
        import cldetl.validate as validate_module

        run["maxrss_mib"] = run["peak_mib"] + validate_module.WORKERS * run["workers_peak_mib"]
    if (
        run["rss_source"] == "GNU time"
        and not run.get("workers_peak_mib")
        and abs(run["maxrss_mib"] - run["peak_mib"]) > 32
    ):
        print(
            f"  note: {kind} peak RSS {run['maxrss_mib']:,.0f} MiB by GNU time, "
            f"{run['peak_mib']:,.0f} MiB by its own VmHWM"
        )
    return run


def bench_size(rows: int, args) -> dict:
    if args.file:
        path = args.file
        print(f"\n{path}: {os.path.getsize(path) / 1e6:,.0f} MB", flush=True)
    else:
        path = str(generated(rows, args))
    size = os.path.getsize(path)
    common.warm(path)
    runs: dict[str, list[dict]] = {k: [] for k in MEASUREMENTS}
    for r in range(args.repeat):
        for kind in MEASUREMENTS:
            run = measure(kind, path)
            runs[kind].append(run)
            shown = run.get("seconds", run["process_wall"])
            print(
                f"  [{r + 1}/{args.repeat}] {kind:<13} {shown:8.2f} s  "
                f"peak {run['maxrss_mib']:7,.0f} MiB  load {run['load']:.1f}",
                flush=True,
            )
    if args.ge_rows:
        sample = _head(path, args.ge_rows)
        try:
            ge = measure("ge", sample)
        finally:
            Path(sample).unlink(missing_ok=True)
        print(f"  [ge] {ge['rows']:,} rows {ge['seconds']:8.2f} s (CPU {ge['cpu']:.2f} s)")
    if args.profile:
        prof = str(Path(tempfile.gettempdir()) / f"cldetl_validate_{rows}.prof")
        print(f"\ncProfile of validate(path), {rows:,} rows (stats in {prof}):", flush=True)
        measure("validate", path, profile=prof)
    out = {"rows": rows, "path": path, "bytes": size, "runs": runs, "file_given": bool(args.file)}
    if args.ge_rows:
        out["ge"] = ge
    return out


CACHE = ROOT / "out" / "bench"


def generated(rows: int, args) -> Path:
    """The generated file of `rows` rows, made once and kept under out/bench/ (a 5M-row file
    is 2.5 GB: too big for /tmp, and a minute to make)."""
    path = CACHE / f"cld_{rows}_s{args.seed}_{args.quoting}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        # In a subprocess, so that this process stays small (see common.spawn).
        generator = Path(__file__).with_name("_generate.py")
        argv = [sys.executable, str(generator), "--rows", str(rows), "--seed", str(args.seed)]
        argv += ["--quoting", args.quoting, "--out", str(path) + ".part"]
        print(flush=True)
        subprocess.run(argv, cwd=ROOT, env=common.environment(), check=True)
        Path(str(path) + ".part").rename(path)
    return path


LARGE_KINDS = ("pyarrow", "cli", "validate")


def bench_large(rows: int, args) -> dict:
    """Memory and linearity: the pyarrow read, the CLI and validate(path) once each on a large
    file (pandas and read_cld_csv hold the whole file: at 5M rows they would need ~9 GB)."""
    path = str(generated(rows, args))
    print(f"\n{path}: {os.path.getsize(path) / 1e6:,.0f} MB (memory and linearity run)")
    common.warm(path)
    runs = {}
    for kind in LARGE_KINDS:
        run = measure(kind, path)
        runs[kind] = run
        shown = run.get("seconds", run["process_wall"])
        print(
            f"  {kind:<13} {shown:8.2f} s  peak {run['maxrss_mib']:7,.0f} MiB  "
            f"load {run['load']:.1f}",
            flush=True,
        )
    return {"rows": rows, "path": path, "bytes": os.path.getsize(path), "runs": runs}


def _head(path: str, rows: int) -> str:
    """The header and the first `rows` lines of `path` (the generated file has one line per
    row), for the Great Expectations peer figure."""
    sample = str(Path(tempfile.gettempdir()) / f"cldetl_bench_ge_{rows}.csv")
    with open(path, "rb") as source, open(sample, "wb") as target:
        for _ in range(rows + 1):
            line = source.readline()
            if not line:
                break
            target.write(line)
    return sample


def summarise(result: dict) -> dict:
    """Median of the repeats (times), highest peak memory; the breakdown of the median run."""
    from statistics import median

    best = {}
    for kind, runs in result["runs"].items():
        ordered = sorted(runs, key=lambda r: r.get("seconds", r["process_wall"]))
        fastest = ordered[(len(ordered) - 1) // 2]
        best[kind] = {
            "seconds": median(r["seconds"] for r in runs) if "seconds" in runs[0] else None,
            "cpu": median(r["cpu"] for r in runs) if "cpu" in runs[0] else None,
            "process_wall": median(r["process_wall"] for r in runs),
            "process_cpu": median(r["process_cpu"] for r in runs),
            "maxrss_mib": max(r["maxrss_mib"] for r in runs),
            "rss_before_mib": fastest.get("rss_before_mib"),
            "steps": fastest.get("steps", []),
            "exit": fastest["exit"],
            "errors": fastest.get("errors"),
            "warnings": fastest.get("warnings"),
            "top_rules": fastest.get("top_rules", []),
            "load": max(r["load"] for r in runs),
        }
    return best


def ratios(best: dict) -> dict[str, float]:
    read, pandas_read = best["pyarrow"], best["pandas"]
    return {
        "validate/pyarrow": best["validate"]["seconds"] / read["seconds"],
        "validate/pandas": best["validate"]["seconds"] / pandas_read["seconds"],
        "validate/pyarrow cpu": best["validate"]["cpu"] / read["cpu"],
        "cli/pyarrow process": best["cli"]["process_wall"] / read["process_wall"],
        "cli/pandas process": best["cli"]["process_wall"] / pandas_read["process_wall"],
    }


# The CLI's own modules: its run is not a Python child of this script, so they are named here.
CLI_FILES = tuple(
    str(path.relative_to(ROOT))
    for path in [ROOT / "cldetl" / "__main__.py", *sorted((ROOT / "cldetl" / "cli").glob("*.py"))]
) + ("cldetl/report/console.py",)


def _changes(machine: dict, results: list[dict]) -> tuple[list[str], list[str]]:
    """Files changed during the run: (those the measurements use, the others)."""
    used = set(CLI_FILES)
    for result in results:
        for runs in result["runs"].values():
            for run in runs:
                used.update(run.get("modules", ()))
    return common.changed_files(machine["hashes"], machine["hashes_after"], used)


def markdown(
    results: list[dict], machine: dict, command: str, args, large: dict | None = None
) -> str:
    when = machine["measured"]
    main = max(results, key=lambda r: r["rows"])
    best = summarise(main)
    ratio = ratios(best)
    peak = max(best["cli"]["maxrss_mib"], best["validate"]["maxrss_mib"])
    loads = [b["load"] for r in results for b in summarise(r).values()]
    # The measurement itself keeps up to every CPU busy: only more than that is other work.
    busy = max(loads) > machine["cpus"] + 0.5
    lines = [
        BEGIN,
        "",
        f"Measured {when} with `{command}`, cldetl at {machine['revision']} "
        f"(sources {common.digest(machine['hashes'])}).",
        "",
    ]
    lines += common.change_note(*_changes(machine, results), unused_by="by validation")
    lines += [
        common.machine_facts(machine, ("pandas", "pyarrow", "numpy"))
        + f" 1-minute load average during the runs: up to {max(loads):.1f}, the measurements "
        "included"
        + (
            " (other processes were using the CPUs: wall times are noisy and CPU times are the "
            "steadier comparison; the pyarrow read and validate both use every CPU, but how much "
            "each gets of a busy machine varies from run to run)."
            if busy
            else "."
        ),
        "",
        f"**Targets, {main['rows']:,} rows:**",
        "",
        f"- validate within {TARGET_RATIO:g}x of merely reading the file: "
        f"{common.verdict(ratio['validate/pyarrow'] <= TARGET_RATIO, MET)} - "
        f"`validate(path)` takes {best['validate']['seconds']:.1f} s, "
        f"**{ratio['validate/pyarrow']:.1f}x** the pyarrow read "
        f"({best['pyarrow']['seconds']:.2f} s) "
        f"and {ratio['validate/pandas']:.1f}x the pandas read "
        f"({best['pandas']['seconds']:.2f} s). Whole processes, the CLI takes "
        f"{best['cli']['process_wall']:.1f} s, {ratio['cli/pyarrow process']:.1f}x a process that "
        f"reads with pyarrow ({best['pyarrow']['process_wall']:.1f} s). In CPU time, validate "
        f"is {ratio['validate/pyarrow cpu']:.1f}x the pyarrow read.",
        f"- peak memory under {TARGET_MEMORY_MIB / 1024:g} GiB at {main['rows']:,} rows: "
        f"{common.verdict(peak < TARGET_MEMORY_MIB, MET)} - **{peak:,.0f} MiB** "
        f"(CLI {best['cli']['maxrss_mib']:,.0f} MiB, library {best['validate']['maxrss_mib']:,.0f} "
        f"MiB; the pyarrow read alone {best['pyarrow']['maxrss_mib']:,.0f} MiB).",
    ]
    if large:
        lines += _large_targets(large, main, best)
    ge = main.get("ge")
    if ge:
        scaled = ge["seconds"] * main["rows"] / ge["rows"]
        lines.append(
            "- peer, the Great Expectations suite cldetl builds from the spec "
            "(`cldetl.report.ge_appendix.build_ge_report`: expectations, validation and "
            "Data Docs): "
            f"{ge['seconds']:.1f} s (CPU {ge['cpu']:.1f} s) on the first {ge['rows']:,} rows, "
            f"run once; **scaled linearly** to {main['rows']:,} rows about {scaled:,.0f} s, "
            f"{scaled / best['validate']['seconds']:.0f}x validate. Not measured on the whole "
            "file: it holds every row in pandas several times over."
        )
    lines += [""]
    for result in sorted(results, key=lambda r: r["rows"]):
        lines += _size_table(result, args)
    if large:
        lines += _large_table(large, main, best)
    lines += _breakdown(main)
    if len(results) > 1:
        lines += _linearity(results)
    lines += [
        "How it is measured: each row of the tables is its own subprocess (`python "
        "benchmarks/validate.py --child ...`, or the CLI itself), started through "
        + (
            "GNU time (`/usr/bin/time`), whose peak RSS (maximum resident set size) is the "
            "child's own; the Python children also check it against their own `VmHWM`. "
            if common.TIME
            else "`subprocess` and reaped with `os.wait4` (peak RSS from its `ru_maxrss`). "
        )
        + "*op* is the call alone, timed inside the child after its "
        "imports; *process* is the whole child from the parent (interpreter start, imports, "
        "the call, exit). The file is read once beforehand so all runs find it in the page "
        "cache. Runs are interleaved and the median of "
        f"{args.repeat} is shown (median time, highest peak memory). CPU time is user + system "
        "over all threads (pyarrow reads with several). In the per-check table, values the "
        "checks share (parsed dates, blank masks, the age) are computed by the first check that "
        "asks and cached, so their cost shows under that check. Generated files are kept under "
        "out/bench/ and reused.",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def _size_table(result: dict, args) -> list[str]:
    best = summarise(result)
    read, pandas_read = best["pyarrow"], best["pandas"]
    origin = (
        "the file given with --file"
        if result["file_given"]
        else f"generated by `benchmarks/_generate.py`, seed {args.seed}, {args.quoting} quoting"
    )
    v = best["validate"]
    lines = [
        f"### {result['rows']:,} rows",
        "",
        f"File: {result['bytes'] / 1e6:,.0f} MB, 48 columns, {origin}; `cldetl validate` "
        f"finds {v['errors']} errors and {v['warnings']} warnings in it (CLI exit code "
        f"{best['cli']['exit']}).",
        "",
        "| Measurement | op s | op CPU s | process s | process CPU s | peak RSS MiB "
        "| x pyarrow read | x pandas read |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for kind, label in MEASUREMENTS.items():
        b = best[kind]
        if b["seconds"] is not None:
            x_arrow = f"{b['seconds'] / read['seconds']:.1f}"
            x_pandas = f"{b['seconds'] / pandas_read['seconds']:.1f}"
            op, cpu = f"{b['seconds']:.2f}", f"{b['cpu']:.2f}"
        else:
            x_arrow = f"{b['process_wall'] / read['process_wall']:.1f}*"
            x_pandas = f"{b['process_wall'] / pandas_read['process_wall']:.1f}*"
            op, cpu = "", ""
        lines.append(
            f"| {label} | {op} | {cpu} | {b['process_wall']:.2f} | {b['process_cpu']:.2f} "
            f"| {b['maxrss_mib']:,.0f} | {x_arrow} | {x_pandas} |"
        )
    lines += [
        "",
        "\\* the CLI has no in-process clock: its ratios compare whole processes.",
        "",
    ]
    return lines


def _large_targets(large: dict, main: dict, best: dict) -> list[str]:
    runs = large["runs"]
    v, cli = runs["validate"], runs["cli"]
    peak = max(v["maxrss_mib"], cli["maxrss_mib"])
    per_large = v["seconds"] * 1e6 / large["rows"]
    per_main = best["validate"]["seconds"] * 1e6 / main["rows"]
    cpu_large = v["cpu"] * 1e6 / large["rows"]
    cpu_main = best["validate"]["cpu"] * 1e6 / main["rows"]
    return [
        f"- memory that does not grow with the file, {large['rows']:,} rows "
        f"({large['bytes'] / 1e9:.1f} GB) under {TARGET_MEMORY_MIB / 1024:g} GiB: "
        f"{common.verdict(peak < TARGET_MEMORY_MIB, MET)} - **{peak:,.0f} MiB** (library "
        f"{v['maxrss_mib']:,.0f} MiB, CLI {cli['maxrss_mib']:,.0f} MiB; at {main['rows']:,} rows "
        f"{best['validate']['maxrss_mib']:,.0f} MiB).",
        f"- linear in time: validate takes {per_large:.1f} s (CPU {cpu_large:.1f} s) per million "
        f"rows at {large['rows']:,} rows against {per_main:.1f} s (CPU {cpu_main:.1f} s) at "
        f"{main['rows']:,} (one run at {large['rows']:,}, the median of the runs at "
        f"{main['rows']:,}; see the table below).",
    ]


def _large_table(large: dict, main: dict, best: dict) -> list[str]:
    lines = [
        f"### {large['rows']:,} rows: memory and linearity",
        "",
        f"File: {large['bytes'] / 1e6:,.0f} MB, generated the same way. Each measurement run "
        "once (pandas and `read_cld_csv` hold the whole file, so they are left out).",
        "",
        "| Measurement | op s | op CPU s | process s | process CPU s | peak RSS MiB "
        "| s per 1M rows (CPU) | same at "
        f"{main['rows']:,} rows |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for kind in LARGE_KINDS:
        run, small = large["runs"][kind], best[kind]
        if "seconds" in run:
            op, cpu = f"{run['seconds']:.2f}", f"{run['cpu']:.2f}"
            big, little = 1e6 / large["rows"], 1e6 / main["rows"]
            per = f"{run['seconds'] * big:.2f} ({run['cpu'] * big:.2f})"
            was = f"{small['seconds'] * little:.2f} ({small['cpu'] * little:.2f})"
        else:
            op = cpu = ""
            per = f"{run['process_wall'] * 1e6 / large['rows']:.2f}*"
            was = f"{small['process_wall'] * 1e6 / main['rows']:.2f}*"
        lines.append(
            f"| {MEASUREMENTS[kind]} | {op} | {cpu} | {run['process_wall']:.2f} "
            f"| {run['process_cpu']:.2f} | {run['maxrss_mib']:,.0f} | {per} | {was} |"
        )
    lines += ["", "\\* whole process.", ""]
    return lines


def _breakdown(result: dict) -> list[str]:
    best = summarise(result)
    v = best["validate"]
    steps = v["steps"]
    cpu_total = sum(s["cpu"] for s in steps) or 1.0
    lines = [
        f"### Where validate spends its time ({result['rows']:,} rows)",
        "",
        "`validate(path)` with each step wrapped: the batch reader, each check module "
        "(`cldetl.validate.CHECKS`, once per batch, batches checked two at a time, in two "
        "worker processes for a large file: their steps are added up with the parent's), the "
        "whole-file steps. Times are summed over calls, threads and processes, so the seconds "
        "add up to more than the wall time; CPU is the thread's own (the reader's excludes "
        "Arrow's threads, which parse the CSV). Peak memory of (e) is the parent's plus each "
        "worker's. "
        f"RSS before the call: {v['rss_before_mib']:,.0f} MiB; "
        f"the call took {v['seconds']:.2f} s and {v['cpu']:.2f} s of process CPU.",
        "",
        "| Step | calls | s (summed) | thread CPU s | CPU share | findings | peak so far MiB |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for s in steps:
        findings = "" if s.get("findings") is None else f"{s['findings']:,}"
        lines.append(
            f"| `{s['step']}` | {s.get('calls', 1)} | {s['seconds']:.2f} | {s['cpu']:.2f} "
            f"| {100 * s['cpu'] / cpu_total:.0f}% | {findings} | {s['peak_mib']:,.0f} |"
        )
    lines += [
        f"| **total** | | | {cpu_total:.2f} | 100% | | {v['maxrss_mib']:,.0f} |",
        "",
    ]
    return lines


def _linearity(results: list[dict]) -> list[str]:
    lines = [
        "### Scaling",
        "",
        "| Rows | File MB | pyarrow read s (CPU) | pandas read s (CPU) | validate s (CPU) "
        "| validate per 100k rows: s (CPU) | x pyarrow read | validate peak MiB |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in sorted(results, key=lambda r: r["rows"]):
        best = summarise(result)
        a, p, v = best["pyarrow"], best["pandas"], best["validate"]
        per = 1e5 / result["rows"]
        lines.append(
            f"| {result['rows']:,} | {result['bytes'] / 1e6:,.0f} "
            f"| {a['seconds']:.2f} ({a['cpu']:.2f}) | {p['seconds']:.2f} ({p['cpu']:.2f}) "
            f"| {v['seconds']:.2f} ({v['cpu']:.2f}) "
            f"| {v['seconds'] * per:.2f} ({v['cpu'] * per:.2f}) "
            f"| {v['seconds'] / a['seconds']:.1f} | {v['maxrss_mib']:,.0f} |"
        )
    return lines + [""]


def update_doc(path: Path, block: str) -> None:
    """Replace the generated block in the Validate section, creating what is missing."""
    common.update_doc(path, SECTION, INTRO, BEGIN, END, block)


def print_summary(results: list[dict]) -> None:
    for result in sorted(results, key=lambda r: r["rows"]):
        best = summarise(result)
        ratio = ratios(best)
        print(f"\n{result['rows']:,} rows, {result['bytes'] / 1e6:,.0f} MB")
        for kind in MEASUREMENTS:
            b = best[kind]
            op = f"{b['seconds']:8.2f} s" if b["seconds"] is not None else " " * 10
            print(
                f"  {kind:<13} op {op}  process {b['process_wall']:7.2f} s "
                f"(CPU {b['process_cpu']:6.2f} s)  peak {b['maxrss_mib']:7,.0f} MiB"
            )
        print(
            f"  validate/pyarrow {ratio['validate/pyarrow']:.1f}x (target <= {TARGET_RATIO:g}x), "
            f"validate/pandas {ratio['validate/pandas']:.1f}x, "
            f"CLI/pyarrow process {ratio['cli/pyarrow process']:.1f}x"
        )
        for s in best["validate"]["steps"]:
            print(f"    {s['step']:<36} {s['seconds']:7.2f} s  CPU {s['cpu']:6.2f} s")
        v = best["validate"]
        print(f"  validate found {v['errors']} errors, {v['warnings']} warnings")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if common.dispatch_child(argv, {kind: functools.partial(child, kind) for kind in CHILDREN}):
        return 0
    parser = common.argument_parser(__doc__, "update the Validate section of this Markdown")
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000], help="row counts (default 1000000)"
    )
    parser.add_argument(
        "--large",
        type=int,
        default=0,
        help="also run the pyarrow read, the CLI and validate once on this many rows, for "
        "memory and linearity (e.g. 5000000; the file is kept under out/bench/)",
    )
    parser.add_argument(
        "--ge-rows",
        type=int,
        default=100_000,
        help="rows of the file the Great Expectations peer runs on (0: skip it)",
    )
    parser.add_argument("--quoting", choices=["minimal", "all"], default="minimal")
    parser.add_argument("--file", help="benchmark this CSV instead of a generated one")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of validate(path)"
    )
    parser.add_argument(
        "--render",
        type=Path,
        help="no measuring: write --out from the results a previous run saved (its JSON)",
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        vars(args).update(saved["args"])
        if not args.out:
            parser.error("--render needs --out")
        block = markdown(
            saved["results"], saved["machine"], saved["command"], args, saved.get("large")
        )
        update_doc(args.out, block)
        print(f"Updated {args.out} from {args.render}")
        return 0
    if args.file:
        args.rows = [0]

    machine = common.machine(inputs=[])
    print(common.machine_summary(machine))
    results = []
    for rows in args.rows:
        result = bench_size(rows, args)
        if args.file:
            result["rows"] = result["runs"]["validate"][0]["rows"]
        results.append(result)
    large = bench_large(args.large, args) if args.large else None
    print_summary(results)
    if large:
        for kind, run in large["runs"].items():
            took = run.get("seconds", run["process_wall"])
            print(
                f"  {large['rows']:,} rows {kind:<10} {took:8.2f} s  peak {run['maxrss_mib']:,.0f}"
            )
    machine["hashes_after"] = common.source_hashes(inputs=[])
    machine["measured"] = common.now_utc()
    used, unused = _changes(machine, results)
    if used:
        print(f"\nWARNING: {', '.join(used)} changed during the run; the numbers may mix versions.")
    if unused:
        print(f"\nChanged during the run, not used by validation: {', '.join(unused)}")
    command = ("python benchmarks/validate.py " + " ".join(argv)).strip()
    saved = Path(tempfile.gettempdir()) / "cldetl_bench_results.json"
    kept = {k: getattr(args, k) for k in ("repeat", "seed", "quoting")}
    saved.write_text(
        json.dumps(
            {
                "results": results,
                "large": large,
                "machine": machine,
                "command": command,
                "args": kept,
            }
        )
    )
    print(f"\nResults saved to {saved} (re-render with --render {saved} --out FILE)")
    if args.out:
        update_doc(args.out, markdown(results, machine, command, args, large))
        print(f"Updated {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
