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

from cldetl.cli.flows_loader import telemetry_off
from cldetl.spec.period import parse_period_end

telemetry_off()  # before Prefect is imported: no analytics from a server cldetl starts

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Failed, State  # noqa: E402

__all__ = [
    "AuthoritiesFailed",
    "AuthorityFailed",
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
    from cldetl.cli.flows_loader import load_flows_module

    return load_flows_module(stem, Path(__file__).with_name(f"{stem}.py"))


_quarterly = _load_sibling("quarterly_return")
quarterly_return = _quarterly.quarterly_return
submission_date = _quarterly.submission_date

# Dask workers cannot import modules loaded by file path: send their code with the tasks.
cloudpickle.register_pickle_by_value(_quarterly)
if __name__ in sys.modules:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def dask_task_runner(
    cluster_address: str | None = None, n_workers: int = 2, dashboard_address: str | None = None
):
    """prefect-dask's runner: an existing cluster by scheduler address (tcp://host:8786), else
    a local cluster of `n_workers` single-threaded worker processes. The local cluster starts
    no dashboard unless `dashboard_address` is given (":8787", or ":0" for any free port)."""
    from prefect_dask import DaskTaskRunner

    if cluster_address:
        return DaskTaskRunner(address=cluster_address)
    cluster_kwargs = {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": dashboard_address,
        "worker_dashboard_address": None,
    }
    if dashboard_address is None:
        # Dask's scheduler serves its health and metrics pages even without a dashboard, on
        # port 8787 of every interface unless told otherwise: keep them on a free port of
        # 127.0.0.1 (no clash with another cluster, nothing exposed).
        cluster_kwargs["scheduler_kwargs"] = {"dashboard_address": "127.0.0.1:0"}
    return DaskTaskRunner(cluster_kwargs=cluster_kwargs)


def mapping_files(mappings_dir: str | Path) -> list[Path]:
    """The mapping files of a folder (*.yaml, *.yml; not its subfolders), sorted, absolute."""
    folder = Path(mappings_dir)
    found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(p.resolve() for p in found if p.is_file())


# --- one authority, on a Dask worker ------------------------------------------------------------


class AuthorityFailed(Exception):
    """One authority's run did not complete: the Failed state's data of its `authority` task
    (a Failed state carries an exception; `outcome` is its row of the summary)."""

    def __init__(self, outcome: dict) -> None:
        super().__init__(f"{outcome['authority']}: {outcome['state']}: {outcome['message']}")
        self.outcome = outcome

    def __reduce__(self):  # picklable with its outcome (the state comes back from a worker)
        return (type(self), (self.outcome,))


class AuthoritiesFailed(Exception):
    """Some authorities failed: the data of the all-authorities run's Failed state."""

    def __init__(self, message: str, outcomes: list[dict]) -> None:
        super().__init__(message)
        self.outcomes = outcomes

    def __reduce__(self):
        return (type(self), (str(self), self.outcomes))


@task(name="authority", task_run_name="authority-{label}", cache_policy=NO_CACHE, retries=0)
def authority_task(
    mapping_path: str,
    label: str,
    period_end: date | None,
    out_dir: str,
    html_report: bool,
    connectors_dir: str | None,
    as_of: date,
    retries: dict,
    allow_future: bool = False,
) -> dict | State:
    """Run `quarterly-return` for one mapping. Its outcome (a summary row) is the result; a
    run that did not complete makes this task Failed too, with the outcome in its error, so
    the authority shows red in the UI (the `quarterly-return` subflow is Failed already)."""
    outcome = _authority_outcome(
        mapping_path, period_end, out_dir, html_report, connectors_dir, as_of, retries, allow_future
    )
    if outcome["state"] != "COMPLETED":
        error = AuthorityFailed(outcome)
        return Failed(message=str(error), data=error)
    return outcome


def _authority_outcome(
    mapping_path: str,
    period_end: date | None,
    out_dir: str,
    html_report: bool,
    connectors_dir: str | None,
    as_of: date,
    retries: dict,
    allow_future: bool = False,
) -> dict:
    """What happened to one authority's run; never raises."""
    validation_failed = _quarterly.ValidationErrorsFound
    try:
        state = quarterly_return(
            mapping_path=mapping_path,
            period_end=period_end,
            out_dir=out_dir,
            html_report=html_report,
            connectors_dir=connectors_dir,
            as_of=as_of,
            allow_future=allow_future,
            return_state=True,
            **retries,
        )
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # the subflow could not even start
        return _outcome(mapping_path, out_dir, "CRASHED", f"{type(exc).__name__}: {exc}")
    if isinstance(data, validation_failed):
        data = data.numbers
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
    retries: dict,
    allow_future: bool = False,
) -> list[dict]:
    out_root = Path(out_dir).resolve()
    futures = [
        authority_task.submit(
            mapping_path=path,
            label=Path(path).stem,
            period_end=period_end,
            out_dir=str(out_root / Path(path).stem),
            html_report=html_report,
            connectors_dir=connectors_dir,
            as_of=as_of,
            retries=retries,
            allow_future=allow_future,
        )
        for path in mapping_paths
    ]
    outcomes = []
    for path, future in zip(mapping_paths, futures, strict=True):
        try:
            outcome = future.result(raise_on_failure=False)
        except Exception as exc:  # a worker can die, or the cluster go away
            outcome = exc
        if isinstance(outcome, AuthorityFailed):
            outcome = outcome.outcome
        elif not isinstance(outcome, dict):
            message = f"{type(outcome).__name__}: {outcome}"
            outcome = _outcome(path, str(out_root / Path(path).stem), "CRASHED", message)
        outcomes.append(outcome)
    return outcomes


# --- the flow --------------------------------------------------------------------------------


def _run_name() -> str:
    """Flow run names like `all-mappings-2025-09-30`: the period every authority produces,
    resolved for a scheduled run from the day it was scheduled for (`all-mappings-for-<day>`
    when the mappings' cadences differ or one cannot be read)."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    folder = Path(str(parameters.get("mappings_dir", "mappings")))
    return f"all-{folder.name}-{_period_label(folder, parameters.get('period_end'))}"


def _period_label(folder: Path, period_end: Any) -> str:
    from cldetl.errors import CldetlError
    from cldetl.mapping import load_mapping
    from cldetl.pipeline import reporting_period

    as_of = submission_date()
    try:
        if period_end is not None:
            return f"{parse_period_end(period_end):%Y-%m-%d}"
        ends = {reporting_period(load_mapping(p), None, as_of).end for p in mapping_files(folder)}
    except (CldetlError, ValueError, OSError):
        ends = set()
    return f"{ends.pop():%Y-%m-%d}" if len(ends) == 1 else f"for-{as_of}"


@flow(
    name="all-authorities",
    flow_run_name=_run_name,
    description="Every authority's CLD return, in parallel on a Dask cluster.",
)
def all_authorities(
    mappings_dir: str = "mappings",
    period_end: date | str | None = None,
    out_dir: str = "out",
    cluster_address: str | None = None,
    n_workers: int = 2,
    html_report: bool = False,
    connectors_dir: str | None = None,
    extract_retries: int = _quarterly.EXTRACT_RETRIES,
    retry_backoff_seconds: float = _quarterly.RETRY_BACKOFF_SECONDS,
    source_timeout_seconds: float = _quarterly.SOURCE_TIMEOUT_SECONDS,
    dashboard_address: str | None = None,
    allow_future: bool = False,
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
        extract_retries, retry_backoff_seconds, source_timeout_seconds: each authority's
            extract retry settings (as `quarterly-return`'s parameters of those names).
        dashboard_address: start the local cluster's Dask dashboard there (":8787"); default
            none.
        allow_future: produce a period that ends after the day the run is for (as
            `quarterly-return`'s parameter of that name).

    Returns:
        One outcome per authority (authority, la_code, period, rows, errors, warnings, state,
        message, out_dir, mapping), or, if any authority failed, a Failed state whose error
        (`AuthoritiesFailed`) carries them.
    """
    from cldetl.errors import UsageError

    logger = get_run_logger()
    try:  # as `cldetl run-all --period-end`: the same parser, the same one-line message
        period_end = None if period_end is None else parse_period_end(period_end)
    except UsageError as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc), data=exc)
    paths = mapping_files(mappings_dir)
    if not paths:
        raise UsageError(f"no mapping files (*.yaml) in {Path(mappings_dir).resolve()}")
    logger.info(
        "%d authorities: %s; %s",
        len(paths),
        ", ".join(p.stem for p in paths),
        f"Dask cluster at {cluster_address}" if cluster_address else f"{n_workers} local workers",
    )
    runner = dask_task_runner(cluster_address, n_workers, dashboard_address)
    outcomes = run_on_cluster.with_options(task_runner=runner)(
        mapping_paths=[str(p) for p in paths],
        period_end=period_end,
        out_dir=out_dir,
        html_report=html_report,
        connectors_dir=connectors_dir,
        as_of=submission_date(),
        allow_future=allow_future,
        retries={
            "extract_retries": extract_retries,
            "retry_backoff_seconds": retry_backoff_seconds,
            "source_timeout_seconds": source_timeout_seconds,
        },
    )
    publish_summary(outcomes)
    failed = [o for o in outcomes if o["state"] != "COMPLETED"]
    if failed:
        names = "; ".join(f"{o['authority']}: {o['message']}" for o in failed)
        message = f"{len(failed)} of {len(outcomes)} authorities failed ({names})"
        return Failed(message=message, data=AuthoritiesFailed(message, outcomes))
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
    connectors_dir: str | Path | None = None,
    *,
    allow_future: bool = False,
    **retries: Any,
) -> dict:
    """Run the flow in this process (`cldetl run-all`). Returns {"authorities": [outcome, ...],
    "state": ..., "state_message": ...}; raises the run's exception when it could not start
    (no mappings, no cluster). `retries`: extract_retries, retry_backoff_seconds,
    source_timeout_seconds."""
    state = all_authorities(
        mappings_dir=str(mappings_dir),
        period_end=period_end,
        out_dir=str(out_dir),
        cluster_address=cluster_address,
        n_workers=n_workers,
        html_report=html_report,
        connectors_dir=None if connectors_dir is None else str(connectors_dir),
        allow_future=allow_future,
        return_state=True,
        **retries,
    )
    data = state.result(raise_on_failure=False)
    if isinstance(data, AuthoritiesFailed):
        data = data.outcomes
    elif isinstance(data, BaseException):
        raise data
    return {"authorities": data, "state": state.type.value, "state_message": state.message}
