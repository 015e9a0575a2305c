"""Benchmark `cldetl.transform.transform` on the Eastmoor (Mosaic-like) example.

For each size: build the example database in SQLite (examples/mosaic_liquidlogic/generate.py
--rows-target N; not timed), extract it once in a subprocess (timed separately, keeping the
Parquet staging files extract writes), then, in a fresh subprocess per measurement, read the
staged frames back exactly as `extract` returns them and time

    transform(mapping, frames, ReportingPeriod.ending(date(2025, 9, 30)))

with its internal stages wrapped (module attributes patched in the child) to show where the
time goes. Each measurement's peak RSS is its own process's (GNU time).

    python benchmarks/transform.py                                # 100k and 1M source rows
    python benchmarks/transform.py --sizes 100000 --repeat 1
    python benchmarks/transform.py --out docs/benchmarks.md --keep
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

BEGIN = "<!-- benchmarks/transform.py: begin (generated; rerun the script to update) -->"
END = "<!-- benchmarks/transform.py: end -->"
SECTION = "## Transform"
INTRO = (
    "`benchmarks/transform.py` builds the Eastmoor example (Mosaic-like, "
    "`mappings/eastmoor.yaml`) in SQLite at each size, extracts it once, and times "
    "`transform(mapping, frames, period)` alone in a fresh process per measurement, with its "
    "stages wrapped to show where the time goes. Issue 3: source rows/s and peak memory at "
    "100k and 1M source rows."
)

# (module attribute path, label): the functions wrapped in the child, patched where the caller
# looks them up (a function imported by name into another module is patched there). Nested
# calls (those made inside another wrapped function) are shown under their caller.
WRAPPED = [
    ("cldetl.transform.run:prepare_sources", "prepare_sources"),
    ("cldetl.transform.ledger:_Ledger.__init__", "_Ledger()"),
    ("cldetl.transform.run:_apply_exclusions", "_apply_exclusions"),
    ("cldetl.transform.run:_event_candidates", "_event_candidates"),
    ("cldetl.transform.events:chain_service_lines", "chain_service_lines"),
    ("cldetl.transform.events:_emit", "_emit"),
    ("cldetl.transform.ledger:_Ledger.link", "ledger.link"),
    ("cldetl.transform.ledger:_Ledger.take", "ledger.take"),
    ("cldetl.transform.ledger:_Ledger.exclude", "ledger.exclude"),
    ("cldetl.transform.events:matches", "matches (filters)"),
    ("cldetl.transform.events:evaluate_value", "evaluate_value"),
    ("cldetl.transform.person_details:evaluate_value", "evaluate_value"),
    ("cldetl.transform.run:person_table", "person_table"),
    ("cldetl.transform.run:_with_person_details", "_with_person_details"),
    ("cldetl.transform.events:add_dated_details", "add_dated_details"),
    ("cldetl.transform.ledger:_Ledger.drop_rows", "ledger.drop_rows"),
    ("cldetl.transform.run:_apply_guidance", "_apply_guidance"),
    ("cldetl.transform.guidance_rules:event_end_date_at_death", "rules.event_end_date_at_death"),
    (
        "cldetl.transform.guidance_rules:event_end_date_open_services",
        "rules.event_end_date_open_services",
    ),
    (
        "cldetl.transform.guidance_rules:event_outcome_open_services",
        "rules.event_outcome_open_services",
    ),
    (
        "cldetl.transform.guidance_rules:financial_assessment_fields",
        "rules.financial_assessment_fields",
    ),
    ("cldetl.transform.guidance_rules:unpaid_carer_defaults", "rules.unpaid_carer_defaults"),
    (
        "cldetl.transform.guidance_rules:employment_status_65_plus",
        "rules.employment_status_65_plus",
    ),
    ("cldetl.transform.events:whole_years", "whole_years (age)"),
    ("cldetl.transform.guidance_rules:inclusion_reasons", "rules.inclusion_reasons"),
    (
        "cldetl.transform.run:_carer_by_association_follows_its_record",
        "_carer_by_association_follows_its_record",
    ),
    ("cldetl.transform.run:references", "references (Event Reference)"),
    ("cldetl.transform.run:format_cld", "format_cld"),
    ("cldetl.transform.ledger:_Ledger.details_used", "ledger.details_used"),
    ("cldetl.transform.ledger:_Ledger.reconcile", "ledger.reconcile"),
    ("cldetl.transform.ledger:_Ledger.exclusions", "ledger.exclusions"),
    ("cldetl.transform.run:_lineage", "_lineage"),
    ("cldetl.transform.values:UnmappedCodes.frame", "unmapped.frame"),
    # pandas itself: membership tests on Arrow-backed strings are costly when the set of
    # values is large, so they are shown wherever cldetl calls them.
    ("pandas:Series.isin", "pandas Series.isin"),
]


# --- In the child process --------------------------------------------------------------------


class Recorder:
    """Wall and CPU time of wrapped calls, aggregated by call path (caller > callee); the
    peak RSS of each top-level call (VmHWM reset at its start)."""

    def __init__(self, peaks: common.StagePeaks) -> None:
        self.stack: list[str] = []
        self.steps: dict[str, dict] = {}
        self.peaks = peaks

    def wrap(self, label: str, fn):
        recorder = self

        def wrapper(*args, **kwargs):
            path = " > ".join([*recorder.stack, label])
            top = not recorder.stack
            if top:
                recorder.peaks.start()
            recorder.stack.append(label)
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                recorder.stack.pop()
                step = recorder.steps.setdefault(
                    path,
                    {
                        "path": path,
                        "label": label,
                        "depth": len(recorder.stack),
                        "calls": 0,
                        "seconds": 0.0,
                        "cpu": 0.0,
                        "peak_mib": 0.0,
                    },
                )
                step["calls"] += 1
                step["seconds"] += wall
                step["cpu"] += cpu
                if top:
                    step["peak_mib"] = max(step["peak_mib"], recorder.peaks.stop())
                    step["rss_after_mib"] = common.rss_mib()

        wrapper.__wrapped__ = fn
        return wrapper


def instrument(recorder: Recorder) -> None:
    import importlib

    for target, label in WRAPPED:
        module_name, attr = target.split(":")
        owner = importlib.import_module(module_name)
        *classes, name = attr.split(".")
        for cls in classes:
            owner = getattr(owner, cls)
        setattr(owner, name, recorder.wrap(label, getattr(owner, name)))


def staged_paths(mapping, folder: Path) -> dict[str, Path]:
    """Where `extract(..., staging_dir=folder)` leaves each source's Parquet file."""
    from cldetl.extract import _file_stem

    return {
        name: folder / f"{_file_stem(name, index)}.parquet"
        for index, name in enumerate(mapping.sources)
    }


def child_extract(url: str, staging: str, result: str) -> None:
    common.preimport()
    from cldetl.extract import extract
    from cldetl.mapping import load_mapping
    from cldetl.spec.period import ReportingPeriod

    mapping = load_mapping(common.MAPPING)
    period = ReportingPeriod.ending(common.PERIOD_END, mapping.metadata.cadence)
    wall, cpu = time.perf_counter(), time.process_time()
    frames = extract(mapping, period, url=url, staging_dir=Path(staging))
    out = {
        "seconds": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "records": {name: len(frame) for name, frame in frames.items()},
        "peak_mib": common.peak_mib(),
        "modules": common.cldetl_modules(),
    }
    Path(result).write_text(json.dumps(out))


def child_transform(staging: str, result: str, profile: str | None = None) -> None:
    common.preimport()
    from cldetl.extract import _read_staged
    from cldetl.mapping import load_mapping
    from cldetl.spec import load_spec
    from cldetl.spec.period import ReportingPeriod
    from cldetl.transform import transform

    mapping = load_mapping(common.MAPPING)
    period = ReportingPeriod.ending(common.PERIOD_END, mapping.metadata.cadence)
    frames = {name: _read_staged(p) for name, p in staged_paths(mapping, Path(staging)).items()}
    load_spec()  # cached: the first call parses the spec; not the transform's work
    peaks = common.StagePeaks()
    recorder = Recorder(peaks)
    if profile is None:
        instrument(recorder)
    out: dict = {"records": {name: len(f) for name, f in frames.items()}}
    out["rss_before_mib"] = common.rss_mib()
    out["peak_before_mib"] = common.peak_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    res = transform(mapping, frames, period)
    out["seconds"] = time.perf_counter() - wall
    out["cpu"] = time.process_time() - cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(r"cldetl", 45)
        stats.sort_stats("tottime").print_stats(30)
    peaks.stop()
    out["peak_mib"] = max(peaks.overall, common.peak_mib())
    out["peak_resettable"] = peaks.resettable
    out["cld_rows"] = len(res.cld)
    out["exclusion_rows"] = len(res.exclusions)
    out["unmapped_rows"] = len(res.unmapped)
    out["steps"] = list(recorder.steps.values())
    out["modules"] = common.cldetl_modules()
    Path(result).write_text(json.dumps(out))


# --- In the parent ---------------------------------------------------------------------------


def bench_size(rows_target: int, args, work: Path) -> dict:
    print(f"\n~{rows_target:,} source rows: building the example ...", flush=True)
    db = common.build_example(rows_target, work, args.seed)
    print(
        f"  {db['rows']:,} rows in {len(db['tables'])} tables ({db['people']} random people), "
        f"{db['bytes'] / 1e6:,.0f} MB, built in {db['seconds']:.1f} s",
        flush=True,
    )
    common.warm(db["path"])
    staging = work / f"staging_{rows_target}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    script = str(Path(__file__).resolve())
    extract = common.run_child(script, ["extract", db["url"], str(staging)])
    print(
        f"  extract: {extract['seconds']:.2f} s (CPU {extract['cpu']:.2f}), "
        f"{sum(extract['records'].values()):,} records, peak {extract['maxrss_mib']:,.0f} MiB",
        flush=True,
    )
    runs = []
    for r in range(args.repeat):
        run = common.run_child(script, ["transform", str(staging)])
        runs.append(run)
        print(
            f"  [{r + 1}/{args.repeat}] transform {run['seconds']:7.2f} s "
            f"(CPU {run['cpu']:.2f})  {run['cld_rows']:,} CLD rows  "
            f"peak {run['maxrss_mib']:,.0f} MiB (own {run['peak_mib']:,.0f})  "
            f"load {run['load']:.1f}",
            flush=True,
        )
    if args.profile:
        prof = str(work / f"transform_{rows_target}.prof")
        print(f"\ncProfile of transform, ~{rows_target:,} rows (stats in {prof}):", flush=True)
        common.spawn(
            [sys.executable, script, "--child", "transform", str(staging), "/dev/null", prof],
            stdout=None,
        )
    return {"target": rows_target, "db": db, "extract": extract, "runs": runs}


def best(result: dict) -> dict:
    """Lowest time (and CPU), highest peak memory; the breakdown of the fastest run."""
    runs = result["runs"]
    fastest = min(runs, key=lambda r: r["seconds"])
    return {
        **fastest,
        "seconds": fastest["seconds"],
        "cpu": min(r["cpu"] for r in runs),
        "maxrss_mib": max(max(r["maxrss_mib"], r["peak_mib"]) for r in runs),
        "load": max(r["load"] for r in runs),
    }


def _records(result: dict) -> int:
    return sum(result["extract"]["records"].values())


def markdown(results: list[dict], m: dict, command: str, args) -> str:
    results = sorted(results, key=lambda r: r["db"]["rows"])
    loads = [r["load"] for res in results for r in res["runs"]] + [
        res["extract"]["load"] for res in results
    ]
    lines = [
        BEGIN,
        "",
        f"Measured {common.now_utc()} with `{command}`, cldetl at {m['revision']} "
        f"(sources {common.digest(m['hashes'])}).",
        "",
    ]
    used = set()
    for res in results:
        used.update(res["extract"].get("modules", ()))
        for r in res["runs"]:
            used.update(r.get("modules", ()))
    lines += common.change_note(*common.changed_files(m["hashes"], m["hashes_after"], used))
    lines += [common.machine_line(m, loads), ""]
    lines += [
        "| Source rows (database) | Records extracted | CLD rows out | transform s | CPU s "
        "| source rows/s | records/s | peak RSS MiB | RSS with inputs loaded MiB "
        "| extract s (CPU), not in transform |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for res in results:
        b = best(res)
        rows, records = res["db"]["rows"], _records(res)
        lines.append(
            f"| {rows:,} | {records:,} | {b['cld_rows']:,} | {b['seconds']:.2f} "
            f"| {b['cpu']:.2f} | {rows / b['seconds']:,.0f} | {records / b['seconds']:,.0f} "
            f"| {b['maxrss_mib']:,.0f} | {b['rss_before_mib']:,.0f} "
            f"| {res['extract']['seconds']:.2f} ({res['extract']['cpu']:.2f}) |"
        )
    lines += [""]
    if len(results) > 1:
        a, z = results[0], results[-1]
        ta, tz = best(a)["seconds"], best(z)["seconds"]
        grow_rows = z["db"]["rows"] / a["db"]["rows"]
        lines += [
            f"From {a['db']['rows']:,} to {z['db']['rows']:,} source rows "
            f"({grow_rows:.1f}x), transform time grows {tz / ta:.1f}x "
            f"(CPU {best(z)['cpu'] / best(a)['cpu']:.1f}x): "
            f"{1e5 * ta / a['db']['rows']:.2f} s then {1e5 * tz / z['db']['rows']:.2f} s "
            "per 100k source rows.",
            "",
        ]
    lines += _breakdown(results)
    lines += [
        "How it is measured: *source rows* are the rows of the example's database tables (what "
        "`--rows-target` aims at); *records extracted* are the rows `extract` returns for the "
        "mapping's sources (the transform's input; the templates join and pivot the tables). "
        "The database is built once per size (seed "
        f"{args.seed}) and extracted once, keeping `extract`'s Parquet staging files; each "
        "transform measurement is a fresh process (`python benchmarks/transform.py --child "
        "transform ...`, started through GNU time for its peak RSS) that reads those files back "
        "as `extract` does, imports pandas, pyarrow and the spec, and then times the one "
        "`transform(...)` call (wall and CPU, user + system). The peak RSS includes the "
        "loaded inputs (shown separately). Best of "
        f"{args.repeat} runs: lowest time, highest peak memory. In the breakdown, each wrapped "
        "function's time includes the functions it calls; nested rows (indented) are part of "
        "the row above them (`pandas Series.isin` is pandas' own method, wrapped to show where "
        "cldetl's membership tests cost; at the top level, those made by `transform` itself); "
        "*calls* counts calls summed over the run; a step's peak is the "
        "highest RSS during that step (the kernel's peak mark, `VmHWM`, is reset as each "
        "top-level step starts). The wrappers add a few microseconds per call.",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def _breakdown(results: list[dict]) -> list[str]:
    sizes = [best(r) for r in results]
    header = " | ".join(f"{r['db']['rows']:,} rows s" for r in results)
    lines = [
        "### Where transform spends its time",
        "",
        "`transform(...)` with its stages wrapped, in call order; nested calls are indented "
        "under their caller. *growth* is the time at the largest size over the time at the "
        "smallest.",
        "",
        f"| Step | calls (largest) | {header} | share (largest) | CPU s (largest) "
        "| peak RSS MiB (largest) | growth |",
        "|---|--:|" + "--:|" * len(results) + "--:|--:|--:|--:|",
    ]
    largest = sizes[-1]
    total = largest["seconds"]
    paths = [s["path"] for s in largest["steps"]]
    for size in sizes[:-1]:
        for s in size["steps"]:
            if s["path"] not in paths:
                paths.append(s["path"])
    by_size = [{s["path"]: s for s in size["steps"]} for size in sizes]
    # call order: a parent's first appearance orders its children after it
    order = _tree_order(paths)
    for path in order:
        last = by_size[-1].get(path)
        first = by_size[0].get(path)
        depth = path.count(" > ")
        label = path.rsplit(" > ", 1)[-1]
        if label == "pandas Series.isin" and all(
            s.get(path, {"seconds": 0.0})["seconds"] < 0.005 for s in by_size
        ):
            continue  # pandas' own method: shown only where it costs something
        name = ("&nbsp;&nbsp;&nbsp;&nbsp;" * depth) + ("↳ " if depth else "") + f"`{label}`"
        times = " | ".join(f"{s[path]['seconds']:.2f}" if path in s else "" for s in by_size)
        growth = (
            f"{last['seconds'] / first['seconds']:.1f}x"
            if last and first and first["seconds"] > 0.005 and len(sizes) > 1
            else ""
        )
        peak = f"{last['peak_mib']:,.0f}" if last and depth == 0 else ""
        lines.append(
            f"| {name} | {last['calls'] if last else ''} | {times} "
            f"| {100 * last['seconds'] / total:.0f}% | {last['cpu']:.2f} | {peak} | {growth} |"
            if last
            else f"| {name} | | {times} | | | | |"
        )
    rest = [s["seconds"] - sum(x["seconds"] for x in s["steps"] if x["depth"] == 0) for s in sizes]
    lines.append(
        "| other (inside `transform`, unwrapped) | | "
        + " | ".join(f"{x:.2f}" for x in rest)
        + f" | {100 * rest[-1] / total:.0f}% | | | |"
    )
    lines.append(
        "| **total** | | "
        + " | ".join(f"**{s['seconds']:.2f}**" for s in sizes)
        + f" | 100% | {largest['cpu']:.2f} | {largest['maxrss_mib']:,.0f} "
        + (f"| {sizes[-1]['seconds'] / sizes[0]['seconds']:.1f}x |" if len(sizes) > 1 else "| |")
    )
    return lines + [""]


def _tree_order(paths: list[str]) -> list[str]:
    """Depth-first: each path followed by its children, in first-seen order."""
    children: dict[str, list[str]] = {}
    roots = []
    for p in paths:
        parent = p.rsplit(" > ", 1)[0] if " > " in p else None
        if parent is None:
            roots.append(p)
        else:
            children.setdefault(parent, []).append(p)
    out: list[str] = []

    def visit(p: str) -> None:
        out.append(p)
        for c in children.get(p, []):
            visit(c)

    for r in roots:
        visit(r)
    for p in paths:  # orphans (a parent missing at the largest size): keep them
        if p not in out:
            out.append(p)
    return out


def print_summary(results: list[dict]) -> None:
    for res in sorted(results, key=lambda r: r["db"]["rows"]):
        b = best(res)
        rows = res["db"]["rows"]
        print(
            f"\n{rows:,} source rows, {_records(res):,} records -> {b['cld_rows']:,} CLD rows: "
            f"transform {b['seconds']:.2f} s (CPU {b['cpu']:.2f}), {rows / b['seconds']:,.0f} "
            f"source rows/s, peak {b['maxrss_mib']:,.0f} MiB"
        )
        steps = {s["path"]: s for s in b["steps"]}
        for s in (steps[p] for p in _tree_order(list(steps))):
            if s["depth"] <= 1:
                print(f"  {'  ' * s['depth']}{s['label']:<44} {s['seconds']:7.2f} s x{s['calls']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if common.dispatch_child(argv, {"extract": child_extract, "transform": child_transform}):
        return 0
    parser = common.argument_parser(
        __doc__, "update the Transform section of this Markdown", "transform runs per size"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="source rows to aim at (default 100000 1000000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and staging files")
    parser.add_argument("--work", type=Path, help="folder for the databases (default: a temp one)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="cldetl_bench_transform_"))
    m = common.machine()
    print(f"{common.machine_summary(m)}; work folder {work}")
    results = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"\nkept {work}")
    print_summary(results)
    m["hashes_after"] = common.source_hashes()
    if args.out:
        command = "python benchmarks/transform.py " + " ".join(argv)
        common.update_doc(
            args.out, SECTION, INTRO, BEGIN, END, markdown(results, m, command.strip(), args)
        )
        print(f"\nUpdated {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
