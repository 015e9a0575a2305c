"""Benchmark the report for analysts and managers (`cldetl.report.page.write_report`).

What a run pays for its report, beyond reading and validating the file: report.html and
findings.xlsx, each measurement in a fresh process (so the first import of Jinja2 and openpyxl
is counted, as in a real run), optionally with the Great Expectations technical appendix.

  (a) the 30-row sample (examples/sample), page and workbook: the target is under 3 s;
  (b) the same with `technical_appendix=True` (Great Expectations: opt-in because it is slow);
  (c) a generated file (benchmarks/_generate.py) of --rows rows, with --defect-rate of its rows
      (10% and 100% by default) given a near-miss Gender ('female'), so the page samples and
      the workbook lists that many findings.

    python benchmarks/report.py                                     # 30 rows and 1,000,000
    python benchmarks/report.py --rows 100000 --repeat 1 --no-appendix
    python benchmarks/report.py --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

ROOT = common.ROOT
SAMPLE = ROOT / "examples" / "sample" / "cld_sample_2025q3.csv"
TARGET_SECONDS = 3.0
BEGIN = "<!-- benchmarks/report.py: begin (generated; rerun the script to update) -->"
END = "<!-- benchmarks/report.py: end -->"
SECTION = "## Report"
INTRO = (
    "`benchmarks/report.py` times what a run pays for its report beyond reading and validating "
    "the file: `report.html` and `findings.xlsx` (`cldetl.report.page.write_report`), each in a "
    "fresh process, so the first import of Jinja2 and openpyxl is counted. Target: under 3 s "
    "for the 30-row sample. The Great Expectations technical appendix is opt-in "
    "(`--technical-appendix`) and timed separately."
)


def child(path: str, appendix: bool) -> None:
    """In a fresh process: read and validate `path` (not timed), then time write_report."""
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    table = read_cld_csv(path)
    report = validate(table)
    before = common.peak_mib()
    with tempfile.TemporaryDirectory(prefix="cldetl_report_bench_") as folder:
        started, cpu = time.perf_counter(), time.process_time()
        from cldetl.report.page import file_facts, write_report

        files = write_report(
            Path(folder) / "report",
            table=table,
            report=report,
            run_date="2025-10-14",
            technical_appendix=appendix,
            **file_facts(table),
        )
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        sizes = {f.name: f.stat().st_size for f in files}
    peak = common.peak_mib()
    print(
        json.dumps(
            {
                "rows": report.rows,
                "findings": len(report.findings),
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mib_before": before,
                "peak_mib": peak,
                "sizes": sizes,
            }
        )
    )


def measure(path: Path, appendix: bool) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), *(["--appendix"] if appendix else [])],
        capture_output=True,
        text=True,
        check=True,
        env=common.environment(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def generated_file(rows: int, defect_rate: float, folder: Path) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from _generate import generate, write_csv

    table = generate(rows)
    mask = np.random.default_rng(7).random(table.num_rows) < defect_rate
    index = table.column_names.index("Gender")
    gender = pc.if_else(pa.array(mask), pa.scalar("female"), table.column("Gender"))
    table = table.set_column(index, "Gender", gender)
    path = folder / f"cld_bench_{rows}.csv"
    write_csv(table, path)
    return path


def validate_memory(rows: int, defect_rate: float) -> None:
    """`cldetl validate FILE` against `cldetl validate FILE --report DIR` at `rows` rows: the
    report path should stay within validate's memory (issue 19, point 9)."""
    cldetl = [str(Path(sys.executable).parent / "cldetl")]
    with tempfile.TemporaryDirectory(prefix="cldetl_report_bench_") as folder:
        path = generated_file(rows, defect_rate, Path(folder))
        # Through GNU time (common.spawn): a child forked from this process, which generated
        # the file, would otherwise report this process's peak as its own.
        alone = common.spawn([*cldetl, "validate", str(path), "--format", "json"])["maxrss_mib"]
        report = common.spawn(
            [*cldetl, "validate", str(path), "--format", "json", "--report", f"{folder}/r"]
        )["maxrss_mib"]
    print(
        f"{rows:,} rows, {defect_rate:.0%} with a finding: validate {alone:,.0f} MiB peak, "
        f"validate --report {report:,.0f} MiB peak"
    )


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["seconds"])


def render(results: dict, command: str) -> str:
    lines = [
        BEGIN,
        "",
        f"Measured {common.now_utc()} with `{command}`, cldetl at {common.revision()}.",
        "",
        common.machine_line(common.machine(), results["loads"]),
        "",
        "| File | Findings | Report (page + workbook) | CPU | Peak RSS (validate, then report) "
        "| report.html | findings.xlsx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in results["runs"]:
        sizes = r["sizes"]
        lines.append(
            f"| {label} | {r['findings']:,} | {r['seconds']:.2f} s | {r['cpu_seconds']:.2f} s "
            f"| {r['peak_mib_before']:,.0f} MiB, then {r['peak_mib']:,.0f} MiB "
            f"| {sizes.get('report.html', 0) / 1e3:,.0f} kB "
            f"| {sizes.get('findings.xlsx', 0) / 1e3:,.0f} kB |"
        )
    sample = results["runs"][0][1]
    ok = sample["seconds"] < TARGET_SECONDS
    lines += [
        "",
        f"**Target, 30-row sample: under {TARGET_SECONDS:.0f} s beyond the run:** "
        f"{common.verdict(ok)} - {sample['seconds']:.2f} s, of which {sample['cpu_seconds']:.2f} s "
        f"of CPU (best of {results['repeat']}; the rest is waiting for a CPU or the disk, which "
        "grows with the load average above).",
    ]
    if results.get("appendix"):
        a = results["appendix"]
        lines.append(
            f"With the Great Expectations technical appendix (`--technical-appendix`), the "
            f"30-row report takes {a['seconds']:.1f} s ({a['cpu_seconds']:.1f} s CPU): GE's "
            "import and its 141 expectations, which is why the appendix is opt-in."
        )
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--defect-rate", type=float, nargs="*", default=[0.1, 1.0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the 30-row runs")
    parser.add_argument("--no-appendix", action="store_true")
    parser.add_argument("--out", help="update this markdown file's Report section")
    parser.add_argument(
        "--validate-memory",
        action="store_true",
        help="only compare the peak memory of `validate` and `validate --report` at --rows",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--appendix", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.appendix)
        return 0
    if args.validate_memory:
        for rows in args.rows:
            validate_memory(rows, args.defect_rate[0])
        return 0

    loads = []
    runs = []
    sample = best([measure(SAMPLE, False) for _ in range(args.repeat)])
    loads.append(os.getloadavg()[0])
    runs.append(("30-row sample", sample))
    print(f"30 rows: {sample['seconds']:.2f} s", flush=True)
    appendix = None
    if not args.no_appendix:
        appendix = measure(SAMPLE, True)
        loads.append(os.getloadavg()[0])
        print(f"30 rows with the GE appendix: {appendix['seconds']:.2f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="cldetl_report_bench_") as folder:
        for rows in args.rows:
            for rate in args.defect_rate:
                path = generated_file(rows, rate, Path(folder))
                result = measure(path, False)
                loads.append(os.getloadavg()[0])
                label = f"{rows:,} rows, {rate:.0%} with a finding"
                runs.append((label, result))
                print(f"{label}: {result['seconds']:.2f} s", flush=True)
                path.unlink()
    results = {"runs": runs, "appendix": appendix, "loads": loads, "repeat": args.repeat}
    command = "python benchmarks/report.py " + " ".join(argv or sys.argv[1:])
    block = render(results, command.strip())
    print(block)
    if args.out:
        common.update_doc(Path(args.out), SECTION, INTRO, BEGIN, END, block)
    return 0 if sample["seconds"] < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
