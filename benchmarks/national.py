"""Benchmark the national preview and measures against `cldetl validate` on the same file.

Issue 17 asks for preview plus measures on a 1,000,000-row file within 2x the time of `cldetl
validate` on the same file, with memory no larger than validate's. Generates a valid CLD file
(benchmarks/_generate.py, kept under out/bench/) and times, each in its own subprocess started
through GNU time (so each peak RSS is that process's own), side by side and interleaved:

  (a) `python -m cldetl validate FILE --format json > /dev/null`;
  (b) `python -m cldetl measures FILE --format json > /dev/null`: reads and validates the file,
      previews DHSC's processing and computes the measures (the preview a run writes);
  (c) the library, as the pipeline calls it: read_cld_csv, validate(table), national_run, with
      the national step timed alone.

    python benchmarks/national.py                      # 1,000,000 rows, once
    python benchmarks/national.py --rows 100000 --repeat 1 --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

TARGET_RATIO = 2.0
CACHE = ROOT / "out" / "bench"
BEGIN = "<!-- benchmarks/national.py: begin (generated; rerun the script to update) -->"
END = "<!-- benchmarks/national.py: end -->"
SECTION = "## National preview and measures"
INTRO = (
    "`benchmarks/national.py` times `cldetl measures` (read, validate, DHSC's processing "
    "previewed, the measures) against `cldetl validate` on the same generated file, each in "
    "its own process through GNU time. Issue 17 target: within 2x validate at 1,000,000 rows, "
    "memory no larger than validate's."
)


def generated(rows: int, seed: int) -> Path:
    """The generated file, made once in a subprocess and kept under out/bench/."""
    path = CACHE / f"cld_{rows}_s{seed}_minimal.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        generator = Path(__file__).with_name("_generate.py")
        argv = [sys.executable, str(generator), "--rows", str(rows), "--seed", str(seed)]
        argv += ["--out", str(path) + ".part"]
        subprocess.run(argv, cwd=ROOT, env=common.environment(), check=True)
        Path(str(path) + ".part").rename(path)
    return path


def child(path: str, result: str) -> None:
    """(c): the library calls the pipeline makes, the national step timed alone."""
    from cldetl.national.run_files import national_run
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    began = time.perf_counter()
    table = read_cld_csv(path)
    report = validate(table)
    checked = time.perf_counter()
    run = national_run(table, report)
    done = time.perf_counter()
    fates = run.preview.fate_counts
    Path(result).write_text(
        json.dumps(
            {
                "read_validate_s": checked - began,
                "national_s": done - checked,
                "rows": run.preview.rows,
                "fates_reconcile": int(fates.sum()) == run.preview.rows,
                "figures": len(run.figures),
                "peak_mib": common.peak_mib(),
            }
        )
    )


def cli(args: list[str]) -> dict:
    return common.spawn([sys.executable, "-m", "cldetl", *args])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", help="update this Markdown file's national block")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    path = generated(args.rows, args.seed)
    common.warm(path)
    runs: dict[str, list[dict]] = {
        "validate": [],
        "measures": [],
        "preview": [],
        "report": [],
        "library": [],
    }
    with tempfile.TemporaryDirectory(prefix="cldetl-bench-national-") as scratch:
        for _ in range(args.repeat):
            runs["validate"].append(cli(["validate", str(path), "--format", "json"]))
            runs["measures"].append(cli(["measures", str(path), "--format", "json"]))
            runs["preview"].append(cli(["preview", str(path), "--format", "json"]))
            report = ["validate", str(path), "--format", "json", "--report", scratch]
            runs["report"].append(cli(report))
            runs["library"].append(common.run_child(__file__, [str(path)]))
    for name, done in runs.items():
        failed = [r for r in done if r["exit"] not in (0, 1)]
        if failed:
            print(f"{name} failed: {failed[0]['stderr'][-2000:]}", file=sys.stderr)
            return 1

    def wall(name: str) -> float:
        return statistics.median(r["process_wall"] for r in runs[name])

    def peak(name: str) -> float:
        return max(r["maxrss_mib"] for r in runs[name])

    def cpu(name: str) -> float:
        return statistics.median(r["process_cpu"] for r in runs[name])

    lib = runs["library"][-1]
    ratio = wall("measures") / wall("validate")
    machine = common.machine()
    loads = [r["load"] for done in runs.values() for r in done]
    fits = peak("measures") <= peak("validate")
    ratio_cpu = cpu("measures") / cpu("validate")
    lines = [
        BEGIN,
        "",
        f"{args.rows:,} rows, {common.now_utc()}, cldetl {common.revision()}, median of "
        f"{args.repeat}; {common.machine_line(machine, loads)}",
        "",
        "| Measurement | process s | process CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "validate": "(a) `cldetl validate FILE --format json`",
        "measures": "(b) `cldetl measures FILE --format json` (read, validate, preview, measures)",
        "preview": "`cldetl preview FILE --format json` (read, validate, preview)",
        "report": "`cldetl validate FILE --format json --report DIR` (the HTML report too)",
        "library": "(c) library: read_cld_csv + validate(table) + national_run",
    }
    for name, label in labels.items():
        lines.append(f"| {label} | {wall(name):.1f} | {cpu(name):.1f} | {peak(name):,.0f} |")
    lines += [
        "",
        f"In (c): reading and validating {lib['read_validate_s']:.1f} s, the national preview "
        f"and measures {lib['national_s']:.1f} s; fates reconcile to the {lib['rows']:,} rows: "
        f"{'yes' if lib['fates_reconcile'] else 'NO'}; {lib['figures']} figures.",
        "",
        f"- preview plus measures within {TARGET_RATIO:g}x validate: "
        f"{common.verdict(ratio <= TARGET_RATIO)} - {ratio:.2f}x ((b) against (a); "
        f"{ratio_cpu:.2f}x in CPU seconds).",
        f"- memory no larger than validate's: {common.verdict(fits)} - "
        f"{peak('measures'):,.0f} MiB against {peak('validate'):,.0f} MiB.",
        f"- preview within validate's memory (issue 19 point 9): "
        f"{common.verdict(peak('preview') <= peak('validate'))} - "
        f"{peak('preview'):,.0f} MiB against {peak('validate'):,.0f} MiB.",
        f"- validate --report within validate's memory (issue 19 point 9): "
        f"{common.verdict(peak('report') <= peak('validate'))} - "
        f"{peak('report'):,.0f} MiB against {peak('validate'):,.0f} MiB.",
        "",
        END,
    ]
    block = "\n".join(lines) + "\n"
    print(block)
    if args.out:
        common.update_doc(Path(args.out), SECTION, INTRO, BEGIN, END, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
