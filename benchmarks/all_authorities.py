"""Many authorities at once: `all-authorities` on a Dask cluster against one run after another.

A regional hub produces returns for many authorities. This measures, in one run on one
machine:

- **one after another**: each authority's `cldetl run` as its own process (no Prefect, no
  Dask): its wall time and peak memory, and their sum;
- **on a cluster**: the `all-authorities` flow against a `dask scheduler` and `dask worker`
  processes started here (as docs/scheduling.md shows), reporting to a `prefect server`
  started here: the total wall time (from the flow's start to its end, Prefect's bookkeeping
  included), and each worker process's peak memory (VmHWM of the worker, read before it
  stops).

The authorities are generated with the examples' generator, alternating the two case systems,
in sizes that cycle through `--people` (people besides the story people; the CLD rows follow
from them). Every authority's files from the cluster are checked byte-identical to its own
run's (the run is invalid otherwise).

    python benchmarks/all_authorities.py --authorities 20 --workers 2 --out docs/benchmarks.md

Expect noise on a shared machine: the ratio is measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

SECTION = "## Many authorities"
INTRO = """\
`benchmarks/all_authorities.py`: many generated authorities through the `all-authorities`
flow on a Dask scheduler with worker processes (started as `dask scheduler` / `dask worker`),
against the same authorities run one after another with `cldetl run`. Each authority's files
from the cluster are byte-identical to its own run's."""
BEGIN = "<!-- benchmarks/all_authorities.py: begin (generated; rerun the script to update) -->"
END = "<!-- benchmarks/all_authorities.py: end -->"
SYSTEMS = (("mosaic", "eastmoor"), ("liquidlogic", "westvale"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_authorities(folder: Path, count: int, people: list[int]) -> list[dict]:
    """`count` authorities: a database and a mapping each (LA codes 801...)."""
    import yaml

    from examples.mosaic_liquidlogic.generate import build_database

    authorities = []
    (folder / "mappings").mkdir(parents=True)
    for n in range(count):
        system, example = SYSTEMS[n % 2]
        size = people[n % len(people)]
        name = f"Bench{n + 1:02d}"
        url = f"sqlite:///{folder / 'db' / f'{name.lower()}.db'}"
        tables = build_database(system, url, people=size, seed=800 + n)
        raw = yaml.safe_load((common.ROOT / "mappings" / f"{example}.yaml").read_text())
        raw["metadata"].update(la_code=801 + n, la_name=name)
        raw["connection"] = {"url_env": f"{name.upper()}_DB_URL"}
        raw["tests"] = []
        mapping = folder / "mappings" / f"{name.lower()}.yaml"
        mapping.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        authorities.append(
            {
                "name": name,
                "system": system,
                "people": size,
                "source_rows": sum(tables.values()),
                "mapping": mapping,
                "env": {f"{name.upper()}_DB_URL": url},
            }
        )
    return authorities


def published(folder: Path) -> dict[str, bytes]:
    """The files of the latest run published in `folder`, but its manifest: the run folder's
    name, the pointer to it (latest.json) and the manifest say when the run was."""
    from cldetl.publish.history import MANIFEST, latest_run

    run = latest_run(folder, common.PERIOD_END)
    if run is None:
        raise RuntimeError(f"{folder}: no published run")
    return {
        p.name: p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.name != MANIFEST
    }


def run_singles(authorities: list[dict], out: Path, env: dict[str, str]) -> None:
    cldetl = str(Path(sys.executable).parent / "cldetl")
    for a in authorities:
        argv = [
            cldetl,
            "run",
            "--mapping",
            str(a["mapping"]),
            "--period-end",
            str(common.PERIOD_END),
            "--out",
            str(out / a["name"].lower()),
            "--connectors",
            str(common.ROOT / "connectors"),
        ]
        done = common.spawn(argv, env={**env, **a["env"]})
        if done["exit"] != 0:
            raise RuntimeError(f"{a['name']}: cldetl run exit {done['exit']}\n{done['stderr']}")
        a["single_wall"], a["single_peak_mib"] = done["process_wall"], done["maxrss_mib"]
        a["single_cpu"] = done["process_cpu"]


class Processes:
    """Background processes, each its own process group; stopped together."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.procs = logs, []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def cpu_of_tree(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (alive ones)."""
    import psutil

    total = 0.0
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def peak_of_tree(pid: int) -> float:
    """The largest VmHWM (MiB) among a process and its descendants (the Dask worker proper
    runs under its nanny)."""
    import psutil

    peaks = []
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            peaks.append(common.peak_mib(proc.pid))
        except OSError:
            pass
    return max(peaks, default=0.0)


def run_on_cluster(
    folder: Path, authorities: list[dict], workers: int, env: dict[str, str]
) -> dict:
    import httpx

    bin_dir = Path(sys.executable).parent
    procs = Processes(folder)
    prefect_port, dask_port = free_port(), free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    env = {
        **env,
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    for a in authorities:
        env.update(a["env"])
    address = f"tcp://127.0.0.1:{dask_port}"
    try:
        procs.start(
            "prefect-server",
            [
                str(bin_dir / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(prefect_port),
            ],
            env,
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Prefect server did not start")
            time.sleep(1)
        procs.start(
            "scheduler",
            [
                str(bin_dir / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(dask_port),
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--no-show",
            ],
            env,
        )
        worker_procs = [
            procs.start(
                f"worker-{n}",
                [
                    str(bin_dir / "dask"),
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(folder / f"worker-{n}"),
                ],
                env,
            )
            for n in range(workers)
        ]
        from distributed import Client

        with Client(address, timeout=300) as client:
            client.wait_for_workers(workers, timeout=300)
        result = folder / "cluster.json"
        argv = [
            sys.executable,
            __file__,
            "--child",
            str(folder / "mappings"),
            str(folder / "cluster-out"),
            address,
            str(result),
        ]
        done = common.spawn(argv, env=common.environment(env))
        if done["exit"] != 0:
            raise RuntimeError(f"the cluster run failed:\n{done['stderr'][-3000:]}")
        numbers = json.loads(result.read_text())
        numbers["worker_peaks_mib"] = [peak_of_tree(p.pid) for p in worker_procs]
        numbers["worker_cpu"] = sum(cpu_of_tree(p.pid) for p in worker_procs)
        numbers["client_peak_mib"] = done["maxrss_mib"]
        numbers["client_cpu"] = done["process_cpu"]
        return numbers
    finally:
        procs.stop()


def child(mappings: str, out: str, address: str, result: str) -> None:
    """In a child process: the all-authorities flow against the cluster, timed."""
    sys.path.insert(0, str(common.ROOT / "flows"))
    from all_authorities import run_all_authorities

    start = time.perf_counter()
    done = run_all_authorities(
        mappings,
        common.PERIOD_END,
        out,
        cluster_address=address,
        connectors_dir=common.ROOT / "connectors",
        retry_backoff_seconds=5,
    )
    wall = time.perf_counter() - start
    states = [f"{o['authority']}: {o['state']} {o['message']}" for o in done["authorities"]]
    Path(result).write_text(json.dumps({"wall": wall, "states": states, "state": done["state"]}))


def markdown(authorities, cluster, workers, m, command, loads) -> str:
    total_single = sum(a["single_wall"] for a in authorities)
    rows = "\n".join(
        f"| {a['name']} | {a['system']} | {a['people']:,} | {a['source_rows']:,} | "
        f"{a['single_wall']:.1f} | {a['single_peak_mib']:.0f} |"
        for a in authorities
    )
    peaks = ", ".join(f"{p:.0f}" for p in cluster["worker_peaks_mib"])
    cpu_single = sum(a["single_cpu"] for a in authorities)
    cpu_cluster = cluster["worker_cpu"] + cluster["client_cpu"]
    cpu = f"{cpu_single:.0f} s / {cpu_cluster:.0f} s"
    on_cluster = f"On the cluster (`all-authorities`, {workers} `dask worker` processes, 1 thread)"
    return f"""{BEGIN}
**Measured:** {common.now_utc()}, `{command}`.

{common.machine_line(m, loads)}

| | |
|---|---|
| Authorities | {len(authorities)} ({sum(a["source_rows"] for a in authorities):,} source rows) |
| One after another (`cldetl run` each, summed) | {total_single:.1f} s |
| {on_cluster} | {cluster["wall"]:.1f} s |
| Cluster time / sum of single runs | {cluster["wall"] / total_single:.2f} |
| CPU time: single runs summed / on the cluster (workers + flow process) | {cpu} |
| Peak memory per Dask worker process | {peaks} MiB |
| Largest single run's peak memory | {max(a["single_peak_mib"] for a in authorities):.0f} MiB |
| Flow process (client) peak memory | {cluster["client_peak_mib"]:.0f} MiB |

Every authority completed on the cluster, and its files are byte-identical to its own run's.
The cluster time includes Prefect's bookkeeping (a flow run per authority, task runs,
artifacts, logs sent to the server), which a single `cldetl run` does not have; with
{workers} workers on this {m["cpus"]}-CPU machine the best possible ratio is about
1/{min(workers, m["cpus"])}.

<details><summary>Each authority</summary>

| Authority | Case system | People | Source rows | `cldetl run` (s) | Peak (MiB) |
|---|---|---:|---:|---:|---:|
{rows}

</details>
{END}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--authorities", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--people",
        default="150,400,800,1500",
        help="people per authority (besides the story people), cycled; default %(default)s",
    )
    parser.add_argument("--out", type=Path, help="update this Markdown file (its section)")
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    m = common.machine()
    loads = [os.getloadavg()[0]]
    people = [int(p) for p in args.people.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="cldetl-bench-many-"))
    try:
        env = common.environment()
        for name in list(env):
            if name.startswith("PREFECT_"):
                del env[name]
        authorities = make_authorities(folder, args.authorities, people)
        print(f"{len(authorities)} authorities generated in {folder}", flush=True)
        run_singles(authorities, folder / "single-out", env)
        loads.append(os.getloadavg()[0])
        print(f"single runs: {sum(a['single_wall'] for a in authorities):.1f} s", flush=True)
        cluster = run_on_cluster(folder, authorities, args.workers, env)
        loads.append(os.getloadavg()[0])
        if cluster["state"] != "COMPLETED":
            raise RuntimeError(f"the cluster run ended {cluster['state']}: {cluster['states']}")
        for a in authorities:
            name = a["name"].lower()
            same = published(folder / "cluster-out" / name) == published(
                folder / "single-out" / name
            )
            if not same:
                raise RuntimeError(f"{a['name']}: the cluster's files differ from its own run's")
        command = "python benchmarks/all_authorities.py " + " ".join(
            f"--{k} {v}" for k, v in (("authorities", args.authorities), ("workers", args.workers))
        )
        block = markdown(authorities, cluster, args.workers, m, command, loads)
        print(block)
        if args.out:
            common.update_doc(args.out, SECTION, INTRO, BEGIN, END, block)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
