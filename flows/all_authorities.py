"""Prefect flow `all-authorities`: every mapping in a folder, in parallel on a Dask cluster.

For a regional hub or a consultancy producing returns for several authorities: one task per
mapping file runs the `quarterly-return` flow (as a subflow, so each authority has its own run,
tasks, retries and artifacts) on a Dask cluster through prefect-dask's `DaskTaskRunner`, either
an existing cluster given by its scheduler address or a local cluster of worker processes
started for the run. One authority's failure does not stop the others: each outcome is caught
and listed in a summary table artifact (`cld-all-authorities`), and the run ends Failed, after
all have finished, if any authority failed.

    from all_authorities import all_authorities          # with flows/ on sys.path
    all_authorities("mappings", period_end="2025-09-30", out_dir="out")
    all_authorities("mappings", cluster_address="tcp://10.0.0.5:8786")

On an existing cluster, each worker needs the same Python environment (cldetl, prefect,
prefect-dask, database drivers), the database URL variables the mappings name, and the mapping,
connector and output folders at the same paths (a shared filesystem); the flows' own code is
sent to the workers with the tasks, so flows/ need not be installed there. The workers report
to the Prefect API of the run, so use a Prefect server they can reach (not the temporary one).

flows/ is a folder of entrypoint scripts, not a package: quarterly_return.py is loaded by file
path, and both modules are registered with cloudpickle to be pickled by value.
"""

import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

__all__ = [
    "all_authorities",
    "dask_task_runner",
    "mapping_files",
    "run_all_authorities",
]

SUMMARY_COLUMNS = (
    "authority",
    "la_code",
    "period",
    "rows",
    "errors",
    "warnings",
    "state",
    "message",
    "out_dir",
)


def _load_sibling(stem: str) -> ModuleType:
    """flows/<stem>.py, loaded once by file path as `cldetl_flows_<stem>`."""
    from cldetl.flows_loader import load_flows_module

    return load_flows_module(stem, Path(__file__).with_name(f"{stem}.py"))


_quarterly = _load_sibling("quarterly_return")
quarterly_return = _quarterly.quarterly_return
submission_date = _quarterly.submission_date

# Dask workers cannot import modules loaded by file path: send their code with the tasks.
cloudpickle.register_pickle_by_value(_quarterly)
if __name__ in sys.modules:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def dask_task_runner(cluster_address: str | None = None, n_workers: int = 2):
    """prefect-dask's runner: an existing cluster by scheduler address, else a local cluster of
    `n_workers` single-threaded worker processes (no dashboard)."""
    from prefect_dask import DaskTaskRunner

    if cluster_address:
        return DaskTaskRunner(address=cluster_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": n_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def mapping_files(mappings_dir: str | Path) -> list[Path]:
    """The mapping files of a folder (*.yaml, *.yml; not its subfolders), sorted, absolute."""
    folder = Path(mappings_dir)
    found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(p.resolve() for p in found if p.is_file())


# --- one authority, on a Dask worker ------------------------------------------------------------


@task(name="authority", task_run_name="authority-{label}", cache_policy=NO_CACHE)
def authority_task(
    mapping_path: str,
    label: str,
    period_end: date | None,
    out_dir: str,
    html_report: bool,
    connectors_dir: str | None,
    as_of: date,
) -> dict:
    """Run `quarterly-return` for one mapping; never raises: the outcome says what happened."""
    try:
        state = quarterly_return(
            mapping_path=mapping_path,
            period_end=period_end,
            out_dir=out_dir,
            html_report=html_report,
            connectors_dir=connectors_dir,
            as_of=as_of,
            return_state=True,
        )
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # the subflow could not even start
        return _outcome(mapping_path, out_dir, "CRASHED", f"{type(exc).__name__}: {exc}")
    if isinstance(data, dict):
        return _outcome(mapping_path, out_dir, state.type.value, state.message or "", data)
    # No summary: the run stopped before writing. Name the authority and period if we can.
    return _outcome(
        mapping_path,
        out_dir,
        state.type.value,
        state.message or "",
        _describe(mapping_path, period_end, as_of),
    )


def _describe(mapping_path: str, period_end: date | None, as_of: date) -> dict:
    from cldetl.errors import CldetlError
    from cldetl.mapping import load_mapping
    from cldetl.pipeline import reporting_period

    try:
        mapping = load_mapping(mapping_path)
    except CldetlError:
        return {}
    numbers = {"authority": mapping.metadata.la_name, "la_code": mapping.metadata.la_code}
    try:
        period = reporting_period(mapping, period_end, as_of)
    except CldetlError:
        return numbers
    return {**numbers, "period": f"{period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}"}


def _outcome(
    mapping_path: str, out_dir: str, state: str, message: str, numbers: dict | None = None
) -> dict:
    numbers = numbers or {}
    return {
        "authority": numbers.get("authority", Path(mapping_path).stem),
        "la_code": numbers.get("la_code", ""),
        "period": numbers.get("period", ""),
        "rows": numbers.get("rows_written"),
        "errors": numbers.get("validation_errors"),
        "warnings": numbers.get("validation_warnings"),
        "state": state,
        "message": message,
        "out_dir": out_dir,
        "mapping": mapping_path,
    }


@flow(
    name="all-authorities-on-dask",
    flow_run_name="on-dask",
    description="One task per mapping, on the Dask cluster.",
)
def run_on_cluster(
    mapping_paths: list[str],
    period_end: date | None,
    out_dir: str,
    html_report: bool,
    connectors_dir: str | None,
    as_of: date,
) -> list[dict]:
    futures = [
        authority_task.submit(
            mapping_path=path,
            label=Path(path).stem,
            period_end=period_end,
            out_dir=str(Path(out_dir).resolve() / Path(path).stem),
            html_report=html_report,
            connectors_dir=connectors_dir,
            as_of=as_of,
        )
        for path in mapping_paths
    ]
    outcomes = []
    for path, future in zip(mapping_paths, futures, strict=True):
        try:
            outcomes.append(future.result())  # the task itself never raises
        except Exception as exc:  # ... but a worker can die, or the cluster go away
            out = str(Path(out_dir).resolve() / Path(path).stem)
            message = f"{type(exc).__name__}: {exc}"
            outcomes.append(_outcome(path, out, "CRASHED", message))
    return outcomes


# --- the flow --------------------------------------------------------------------------------


def _run_name() -> str:
    """Flow run names like `all-mappings-2025-09-30` (or `all-mappings-latest`)."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    folder = Path(str(parameters.get("mappings_dir", "mappings"))).name
    return f"all-{folder}-{parameters.get('period_end') or 'latest'}"


@flow(
    name="all-authorities",
    flow_run_name=_run_name,
    description="Every authority's CLD return, in parallel on a Dask cluster.",
)
def all_authorities(
    mappings_dir: str = "mappings",
    period_end: date | None = None,
    out_dir: str = "out",
    cluster_address: str | None = None,
    n_workers: int = 2,
    html_report: bool = False,
    connectors_dir: str | None = None,
) -> list[dict] | State:
    """Produce every authority's return, one `quarterly-return` run per mapping file.

    Args:
        mappings_dir: the folder of mapping files (*.yaml).
        period_end: the last day of the period for all of them (default: each mapping's last
            completed quarter, or month, on the day this run was scheduled for).
        out_dir: each authority's files go to <out_dir>/<mapping file name>/.
        cluster_address: a running Dask scheduler (tcp://host:8786); default: start a local
            cluster for this run.
        n_workers: worker processes of the local cluster.
        html_report: also write each authority's HTML validation report.
        connectors_dir: the folder of SQL templates (default: connectors/ beside mappings/).

    Returns:
        One outcome per authority (authority, la_code, period, rows, errors, warnings, state,
        message, out_dir, mapping), or a Failed state carrying them if any authority failed.
    """
    from cldetl.errors import UsageError

    logger = get_run_logger()
    paths = mapping_files(mappings_dir)
    if not paths:
        raise UsageError(f"no mapping files (*.yaml) in {Path(mappings_dir).resolve()}")
    logger.info(
        "%d authorities: %s; %s",
        len(paths),
        ", ".join(p.stem for p in paths),
        f"Dask cluster at {cluster_address}" if cluster_address else f"{n_workers} local workers",
    )
    runner = dask_task_runner(cluster_address, n_workers)
    outcomes = run_on_cluster.with_options(task_runner=runner)(
        mapping_paths=[str(p) for p in paths],
        period_end=period_end,
        out_dir=out_dir,
        html_report=html_report,
        connectors_dir=connectors_dir,
        as_of=submission_date(),
    )
    publish_summary(outcomes)
    failed = [o for o in outcomes if o["state"] != "COMPLETED"]
    if failed:
        names = "; ".join(f"{o['authority']}: {o['message']}" for o in failed)
        return Failed(
            message=f"{len(failed)} of {len(outcomes)} authorities failed ({names})",
            data=outcomes,
        )
    return outcomes


def publish_summary(outcomes: list[dict]) -> None:
    failed = sum(o["state"] != "COMPLETED" for o in outcomes)
    create_table_artifact(
        [{c: _cell(o.get(c)) for c in SUMMARY_COLUMNS} for o in outcomes],
        key="cld-all-authorities",
        description=f"{len(outcomes)} authorities, {failed} failed.",
    )


def _cell(value: Any) -> Any:
    return "" if value is None else value


# --- for the CLI -------------------------------------------------------------------------------


def run_all_authorities(
    mappings_dir: str | Path = "mappings",
    period_end: date | str | None = None,
    out_dir: str | Path = "out",
    cluster_address: str | None = None,
    n_workers: int = 2,
    html_report: bool = False,
) -> dict:
    """Run the flow in this process. Returns {"authorities": [outcome, ...], "state": ...,
    "state_message": ...}; raises the run's exception when it could not start (no mappings,
    no cluster)."""
    state = all_authorities(
        mappings_dir=str(mappings_dir),
        period_end=period_end,
        out_dir=str(out_dir),
        cluster_address=cluster_address,
        n_workers=n_workers,
        html_report=html_report,
        return_state=True,
    )
    data = state.result(raise_on_failure=False)
    if isinstance(data, BaseException):
        raise data
    return {"authorities": data, "state": state.type.value, "state_message": state.message}
