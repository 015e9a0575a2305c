"""The Prefect flows (flows/): they really run, under one Prefect test server for the session.

PREFECT_HOME goes to a temporary folder and analytics are off before Prefect is imported
anywhere in the session (this module sets them at collection). Most tests use a tiny authority
whose sources are given rows (`flow_fixtures.FakeSources` replaces
`cldetl.extract.extract_source`); the smoke test and the Dask test read the example
authorities' SQLite databases through the real extract.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# Before anything imports Prefect: its home (profiles, local storage) in a temporary folder,
# nothing sent home, no UI assets built for the test server.
_PREFECT_HOME = tempfile.mkdtemp(prefix="cldetl-test-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_UI_ENABLED"] = "false"
# The test server needs only to record runs, task runs, logs and artifacts: its background
# services (scheduling, late runs, automations...) would compete for this machine's CPUs.
for _service in (
    "SCHEDULER",
    "LATE_RUNS",
    "FOREMAN",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "CANCELLATION_CLEANUP",
    "CLEANUP_RECONCILER",
    "DB_VACUUM",
    "TRIGGERS",
    "EVENT_LOGGER",
):
    os.environ[f"PREFECT_SERVER_SERVICES_{_service}_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)

import pytest  # noqa: E402
import yaml  # noqa: E402

from tests.flow_fixtures import (  # noqa: E402
    BAD_NHS,
    NHS,
    PERIOD_END,
    ROOT,
    ROWS,
    FakeSources,
    load_flow_module,
    write_mapping,
)

LONDON = ZoneInfo("Europe/London")
CLD_NAME = "CLD_R2_901_20250930.csv"
PERSONAL_VALUES = (
    *NHS,
    BAD_NHS,
    "Ada",
    "Example",
    "Sample",
    "LN1 1YL",
    "LN2 2AB",
    "01/01/1950",
    "1950-01-01",
)


# --- session and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _prefect_home():
    yield
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server (SQLite database) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def qr():
    return load_flow_module("quarterly_return")


@pytest.fixture
def mapping_path(tmp_path):
    return write_mapping(tmp_path / "mappings")


@pytest.fixture
def sources(monkeypatch):
    """Install a FakeSources as cldetl.extract.extract_source; returns a factory."""
    import cldetl.extract

    def install(**options) -> FakeSources:
        fake = FakeSources(**options)
        monkeypatch.setattr(cldetl.extract, "extract_source", fake, raising=False)
        # The flow checks the URL variable before it touches the output folder; the fakes
        # never open it.
        monkeypatch.setenv("TESTSHIRE_DB_URL", "sqlite:///never-opened-by-the-fakes.db")
        return fake

    return install


def run_flow(qr, mapping_path, out_dir, **parameters):
    parameters.setdefault("period_end", PERIOD_END)
    parameters.setdefault("retry_backoff_seconds", 0.05)
    return qr.quarterly_return(
        mapping_path=str(mapping_path), out_dir=str(out_dir), return_state=True, **parameters
    )


def client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def artifacts_of(state) -> dict[str, object]:
    """The flow run's artifacts (its tasks' too), by key."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = state.state_details.flow_run_id
    with client() as c:
        found = c.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    return {a.key: a for a in found}


def task_runs_of(state) -> dict[str, object]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_id = state.state_details.flow_run_id
    with client() as c:
        runs = c.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return {r.name: r for r in runs}


def logs_of(state) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    run_id = state.state_details.flow_run_id
    with client() as c:
        logs = c.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return [log.message for log in logs]


def output_bytes(folder: Path) -> dict[str, bytes]:
    """The data files a run published under `folder`, by name, wherever the output layout puts
    them (the run's own bookkeeping aside: `flow_fixtures.published_files`)."""
    from tests.flow_fixtures import published_files

    return published_files(folder)


# --- one authority -----------------------------------------------------------------------------


def test_quarterly_return_writes_the_return_and_publishes_artifacts(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    fake = sources()
    out = tmp_path / "out"
    state = run_flow(qr, mapping_path, out)

    assert state.is_completed(), state.message
    numbers = state.result()
    assert numbers["la_code"] == "901"
    assert numbers["period"] == "01/10/2024 to 30/09/2025"
    assert numbers["rows_written"] == 8
    assert (numbers["validation_errors"], numbers["unmapped_codes"]) == (0, 1)
    assert set(fake.calls) == set(ROWS) and set(fake.calls.values()) == {1}  # one task each

    cld = Path(numbers["files"]["cld"])
    assert cld.name == CLD_NAME and cld.is_file() and cld.is_relative_to(out.resolve())
    for path in out.rglob("*"):  # personal data: owner-only
        if not path.is_symlink():
            mode = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == mode, path
    assert stat.S_IMODE(out.stat().st_mode) == 0o700

    runs = task_runs_of(state)
    assert {f"extract-{name}" for name in ROWS} <= set(runs)
    assert all(r.state.is_completed() for r in runs.values())

    artifacts = artifacts_of(state)
    assert set(artifacts) == {  # keyed by authority and period
        "cld-901-2025-09-30-reconciliation",
        "cld-901-2025-09-30-validation",
        "cld-901-2025-09-30-unmapped-codes",
        "cld-901-2025-09-30-return",
    }
    reconciliation = artifacts["cld-901-2025-09-30-reconciliation"].data
    assert "steps" in str(reconciliation) and "safeguarding" in str(reconciliation)
    assert "gender" in str(artifacts["cld-901-2025-09-30-unmapped-codes"].data)  # X, no lookup
    markdown = artifacts["cld-901-2025-09-30-return"].data
    assert f"`{cld.resolve()}`" in markdown and "Validation passed" in markdown
    assert "HTML validation report | not written" in markdown
    assert "0 errors" in artifacts["cld-901-2025-09-30-validation"].description

    # Nothing personal leaves the output folder: not in artifacts, not in logs.
    published = " ".join(f"{a.data} {a.description}" for a in artifacts.values())
    published += " ".join(logs_of(state)) + str(state.message)
    for value in PERSONAL_VALUES:
        assert value not in published, value


def test_validation_errors_write_the_files_then_fail_saying_why(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    sources(bad_nhs=True)
    out = tmp_path / "out"
    state = run_flow(qr, mapping_path, out)

    assert state.is_failed()
    assert "5 validation errors (type.nhs_number: 5)" in state.message
    assert str(out.resolve()) in state.message
    assert {CLD_NAME, "validation.json"} <= set(output_bytes(out))
    error = state.result(raise_on_failure=False)  # an exception, as Prefect expects ...
    assert isinstance(error, qr.ValidationErrorsFound)
    assert error.numbers["validation_errors"] == 5  # ... carrying the run's summary
    artifacts = artifacts_of(state)
    assert "Validation failed: 5 errors" in artifacts["cld-901-2025-09-30-return"].data
    validation = artifacts["cld-901-2025-09-30-validation"].data
    assert validation.count("type.nhs_number") == 1  # counts by rule
    assert BAD_NHS not in str(validation)
    # A failed validation is an outcome, not a crash: no traceback, no TypeError in the logs.
    logs = "\n".join(logs_of(state))
    assert "Traceback" not in logs and "Unexpected result" not in logs, logs


def test_run_quarterly_return_gives_the_cli_the_summary_and_state(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    sources(bad_nhs=True)
    result = qr.run_quarterly_return(mapping_path, "2025-09-30", tmp_path / "out")
    assert result["state"] == "FAILED" and result["validation_errors"] == 5
    assert "type.nhs_number: 5" in result["state_message"]
    cld = Path(result["files"]["cld"])
    assert cld.name == CLD_NAME and cld.is_relative_to((tmp_path / "out").resolve())

    from cldetl.errors import UsageError

    with pytest.raises(UsageError, match="not a quarter end"):  # could not run: exit code 2
        qr.run_quarterly_return(mapping_path, "2025-08-31", tmp_path / "out")


def test_a_source_that_fails_once_is_retried(prefect_server, qr, mapping_path, sources, tmp_path):
    fake = sources(fail={"people": 1})
    state = run_flow(qr, mapping_path, tmp_path / "out", retry_backoff_seconds=0.1)

    assert state.is_completed(), state.message
    assert fake.calls["people"] == 2 and fake.calls["steps"] == 1
    runs = task_runs_of(state)
    assert runs["extract-people"].run_count == 2
    assert runs["extract-steps"].run_count == 1
    assert CLD_NAME in output_bytes(tmp_path / "out")


def test_a_source_that_keeps_failing_fails_the_run_and_writes_nothing(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    fake = sources(fail={"lines": 99})
    state = run_flow(qr, mapping_path, tmp_path / "out", extract_retries=2)

    assert state.is_failed()
    assert "the connection was refused" in state.message
    assert fake.calls["lines"] == 3  # the first try and two retries
    assert output_bytes(tmp_path / "out") == {}  # nothing published (only the lock)


def test_a_permanent_fault_fails_at_once_with_its_reason(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    """A missing table is not an outage: no retry, no backoff, the reason in the state."""
    from tests.flow_fixtures import missing_table

    fake = sources(fail={"steps": 99}, error=missing_table)
    start = time.monotonic()
    state = run_flow(qr, mapping_path, tmp_path / "out", retry_backoff_seconds=30)
    assert state.is_failed()
    assert "no such table: dm_steps" in state.message
    assert fake.calls["steps"] == 1
    assert time.monotonic() - start < 25  # no 30 s backoff
    assert task_runs_of(state)["extract-steps"].run_count == 1


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        ("refused", True),
        ("timeout", True),
        ("connection", True),
        ("missing-table", False),
        ("usage", False),
        ("mapping", False),
        ("value", False),
        (None, False),
    ],
)
def test_only_transient_faults_are_retried(qr, error, transient):
    from cldetl.errors import InputError, UsageError
    from cldetl.mapping import MappingError
    from tests.flow_fixtures import missing_table, outage

    errors = {
        "refused": outage("people"),
        "timeout": TimeoutError("Task run exceeded timeout of 1.0 second(s)"),
        "connection": ConnectionResetError("connection reset by peer"),
        "missing-table": missing_table("people"),
        "usage": UsageError("TESTSHIRE_DB_URL is not set"),
        "mapping": MappingError("mapping.yaml:3: unknown key"),
        "value": ValueError("a bug"),
        None: None,
    }
    assert qr.is_transient(errors[error]) is transient
    assert InputError.transient is False  # permanent unless the extract layer says otherwise


def test_a_mistake_is_not_retried(prefect_server, qr, mapping_path, sources, tmp_path, monkeypatch):
    """A missing database URL variable is a mistake, not an outage: it fails at once."""
    monkeypatch.delenv("TESTSHIRE_DB_URL", raising=False)  # and the real extract_source
    start = time.monotonic()
    state = run_flow(qr, mapping_path, tmp_path / "out", retry_backoff_seconds=30)
    assert state.is_failed()
    assert "TESTSHIRE_DB_URL" in state.message
    assert time.monotonic() - start < 25  # no 30 s backoff
    assert all(r.run_count <= 1 for r in task_runs_of(state).values())


def test_a_source_that_hangs_times_out(
    prefect_server, qr, mapping_path, sources, tmp_path, monkeypatch
):
    import cldetl.extract

    fake = sources()
    stop = threading.Event()

    def slow(mapping, name, period, **options):
        if name == "steps":
            for _ in range(300):  # Python code between sleeps, where a timeout can land
                if stop.wait(0.1):
                    break
        return fake(mapping, name, period, **options)

    monkeypatch.setattr(cldetl.extract, "extract_source", slow, raising=False)
    start = time.monotonic()
    try:
        state = run_flow(
            qr, mapping_path, tmp_path / "out", source_timeout_seconds=1, extract_retries=0
        )
    finally:
        stop.set()
    assert time.monotonic() - start < 25
    assert state.is_failed()
    assert "timed out" in state.message.lower() or "timeout" in state.message.lower()
    assert output_bytes(tmp_path / "out") == {}  # nothing published (only the lock)


def test_a_failure_while_writing_leaves_no_partial_file(
    prefect_server, qr, mapping_path, sources, tmp_path, monkeypatch
):
    import cldetl.pipeline
    import cldetl.publish.write

    sources()
    real_write_csv = cldetl.publish.write.write_csv
    calls = []

    def failing_write_csv(frame, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full (test)")
        real_write_csv(frame, path)

    monkeypatch.setattr(cldetl.publish.write, "write_csv", failing_write_csv)
    monkeypatch.setattr(cldetl.pipeline, "write_csv", failing_write_csv)
    out = tmp_path / "out"
    state = run_flow(qr, mapping_path, out)

    assert state.is_failed() and "disk full" in state.message
    assert len(calls) == 2  # the CLD file was written (to staging), then the next one failed
    assert output_bytes(out) == {}  # no CLD file, no staging folder, no temporary files


def test_a_rerun_gives_byte_identical_files_and_a_failed_rerun_keeps_them(
    prefect_server, qr, mapping_path, sources, tmp_path, monkeypatch
):
    import cldetl.pipeline
    import cldetl.publish.write

    sources()
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_flow(qr, mapping_path, first).is_completed()
    assert run_flow(qr, mapping_path, second).is_completed()
    written = output_bytes(first)
    # the six files a run wrote before the national preview, and its four national_* files
    assert CLD_NAME in written and len(written) == 6 + 4
    assert output_bytes(second) == written

    def broken(frame, path):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full (test)")

    monkeypatch.setattr(cldetl.publish.write, "write_csv", broken)
    monkeypatch.setattr(cldetl.pipeline, "write_csv", broken)
    assert run_flow(qr, mapping_path, first).is_failed()
    assert output_bytes(first) == written  # last quarter's good files are untouched


def test_html_report_location_is_published(
    prefect_server, qr, mapping_path, sources, tmp_path, monkeypatch
):
    """Where the HTML report is, when one is asked for (the report itself is tested in
    test_report_page; here a stand-in writes it)."""
    import cldetl.report.page

    def fake_report(out_dir, **_):
        page = Path(out_dir) / "report.html"
        page.write_text("<html></html>")
        return [page]

    monkeypatch.setattr(cldetl.report.page, "write_run_report", fake_report)
    sources()
    out = tmp_path / "out"
    state = run_flow(qr, mapping_path, out, html_report=True)
    assert state.is_completed(), state.message
    index = Path(state.result()["files"]["report.html"])
    assert index.is_file() and index.is_relative_to(out.resolve())
    markdown = artifacts_of(state)["cld-901-2025-09-30-return"].data
    assert str(index) in markdown


def test_default_period_is_the_last_completed_quarter_on_the_scheduled_day(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    sources()
    state = run_flow(qr, mapping_path, tmp_path / "out", period_end=None, as_of=date(2026, 1, 5))
    assert state.is_completed(), state.message
    assert state.result()["period"] == "01/01/2025 to 31/12/2025"
    assert "CLD_R2_901_20251231.csv" in output_bytes(tmp_path / "out")
    with client() as c:  # the run's name says which quarter it produced, not "latest"
        assert c.read_flow_run(state.state_details.flow_run_id).name == "flowshire-2025-12-31"
    assert "cld-901-2025-12-31-return" in artifacts_of(state)

    # Outside a flow run the day is today, in England.
    assert qr.submission_date() == datetime.now(LONDON).date()


@pytest.mark.parametrize(
    ("period_end", "as_of", "label"),
    [
        (None, date(2026, 1, 5), "2025-12-31"),  # a scheduled January run
        (None, date(2026, 4, 5), "2026-03-31"),
        ("2025-09-30", date(2026, 4, 5), "2025-09-30"),  # given: used as it is
        (date(2025, 6, 30), None, "2025-06-30"),
    ],
)
def test_run_names_carry_the_period_the_run_produces(qr, mapping_path, period_end, as_of, label):
    parameters = {"mapping_path": str(mapping_path), "period_end": period_end, "as_of": as_of}
    assert qr._period_label(parameters) == label


def test_a_run_whose_mapping_cannot_be_read_is_named_for_its_day(qr, tmp_path):
    parameters = {"mapping_path": str(tmp_path / "missing.yaml"), "as_of": date(2026, 1, 5)}
    assert qr._period_label(parameters) == "for-2026-01-05"


def test_artifact_keys_name_the_authority_and_period(qr):
    assert qr.artifact_key("998", date(2025, 9, 30), "return") == "cld-998-2025-09-30-return"
    assert qr.artifact_key("998", date(2025, 9, 30), "Unmapped codes") == (
        "cld-998-2025-09-30-unmapped-codes"
    )


# --- the real thing: no fakes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_databases(tmp_path_factory):
    """The two example authorities' SQLite databases (small: 150 random people each)."""
    from examples.mosaic_liquidlogic.generate import build_database

    folder = tmp_path_factory.mktemp("example-dbs")
    urls = {
        "EASTMOOR_DB_URL": f"sqlite:///{folder / 'eastmoor.db'}",
        "WESTVALE_DB_URL": f"sqlite:///{folder / 'westvale.db'}",
    }
    build_database("mosaic", urls["EASTMOOR_DB_URL"], people=150, seed=7)
    build_database("liquidlogic", urls["WESTVALE_DB_URL"], people=150, seed=7)
    return urls


def test_smoke_quarterly_return_on_the_eastmoor_example(
    prefect_server, qr, example_databases, tmp_path, monkeypatch
):
    """A real run end to end (SQL extract included): dependency drift breaks CI, not a quarter."""
    monkeypatch.setenv("EASTMOOR_DB_URL", example_databases["EASTMOOR_DB_URL"])
    out = tmp_path / "eastmoor"
    state = run_flow(qr, ROOT / "mappings" / "eastmoor.yaml", out)
    assert state.is_completed(), state.message
    numbers = state.result()
    assert numbers["la_code"] == "998" and numbers["rows_written"] > 50
    assert "CLD_R2_998_20250930.csv" in output_bytes(out)
    names = set(task_runs_of(state))
    assert {"extract-people", "extract-steps", "extract-services"} <= names
    # The mapping's (illustrative) population reaches the measures: rates per 100,000.
    measures = json.loads(next(out.glob("*/run-*/national_measures.json")).read_text("utf-8"))
    assert measures["population"]["by_age_band"] == {"18 to 64": 152000, "65 and above": 48000}
    rate = next(f for f in measures["figures"] if f["measure"] == "ASCOF 2C")
    assert rate["denominator"] == 48000 and rate["value"] is not None


@pytest.mark.slow
def test_all_authorities_on_a_two_worker_dask_cluster(
    prefect_server, example_databases, tmp_path, monkeypatch
):
    """Both example authorities and a broken one, on a local cluster of 2 worker processes:
    the broken one fails alone and the summary lists every outcome."""
    aa = load_flow_module("all_authorities")
    for name, url in example_databases.items():
        monkeypatch.setenv(name, url)  # the worker processes inherit the environment
    monkeypatch.delenv("BROKENVALE_DB_URL", raising=False)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("eastmoor", "westvale"):
        shutil.copy(ROOT / "mappings" / f"{name}.yaml", mappings)
    broken = yaml.safe_load((ROOT / "mappings" / "westvale.yaml").read_text(encoding="utf-8"))
    broken["metadata"].update(la_code=996, la_name="Brokenvale")
    broken["connection"] = {"url_env": "BROKENVALE_DB_URL"}
    broken["tests"] = []
    (mappings / "brokenvale.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")

    out = tmp_path / "out"
    started = datetime.now(ZoneInfo("UTC"))
    state = aa.all_authorities(
        mappings_dir=str(mappings),
        period_end=PERIOD_END,
        out_dir=str(out),
        n_workers=2,
        connectors_dir=str(ROOT / "connectors"),
        return_state=True,
    )

    assert state.is_failed()
    assert state.message.startswith("1 of 3 authorities failed (Brokenvale")
    assert "BROKENVALE_DB_URL" in state.message
    error = state.result(raise_on_failure=False)
    assert isinstance(error, aa.AuthoritiesFailed)
    outcomes = {o["authority"]: o for o in error.outcomes}
    assert set(outcomes) == {"Eastmoor", "Westvale", "Brokenvale"}
    for name, code in (("Eastmoor", "998"), ("Westvale", "997")):
        outcome = outcomes[name]
        assert outcome["state"] == "COMPLETED", outcome["message"]
        assert outcome["errors"] == 0 and outcome["rows"] > 50
        assert outcome["period"] == "01/10/2024 to 30/09/2025"
        assert f"CLD_R2_{code}_20250930.csv" in output_bytes(Path(outcome["out_dir"]))
    failed = outcomes["Brokenvale"]
    assert (failed["state"], failed["la_code"], failed["rows"]) == ("FAILED", "996", None)
    assert failed["period"] == "01/10/2024 to 30/09/2025"
    assert not (out / "brokenvale").exists()

    summary = artifacts_of(state)["cld-all-authorities"]
    assert "Westvale" in str(summary.data) and "Brokenvale" in str(summary.data)

    # The broken authority shows red: its task and its quarterly-return run are Failed.
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    with client() as c:
        runs = c.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started))
        )
        ids = [r.id for r in runs]
        tasks = c.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
        logs = c.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
    by_name = {r.name: r for r in runs}
    assert by_name["brokenvale-2025-09-30"].state.is_failed()
    assert by_name["eastmoor-2025-09-30"].state.is_completed()
    authority_tasks = {t.name: t for t in tasks}
    assert authority_tasks["authority-brokenvale"].state.is_failed()
    assert authority_tasks["authority-westvale"].state.is_completed()
    # Extract tasks run in a Dask worker's thread: no "timeout in a worker thread" warnings.
    assert logs and not [log.message for log in logs if "worker thread" in log.message]


def test_the_local_cluster_has_no_dashboard_unless_asked():
    aa = load_flow_module("all_authorities")
    default = aa.dask_task_runner().cluster_kwargs
    assert default["dashboard_address"] is None and default["worker_dashboard_address"] is None
    # Dask's health pages: on a free port of 127.0.0.1, not 8787 on every interface.
    assert default["scheduler_kwargs"] == {"dashboard_address": "127.0.0.1:0"}
    assert aa.dask_task_runner(dashboard_address=":8787").cluster_kwargs["dashboard_address"] == (
        ":8787"
    )
    assert aa.dask_task_runner("tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"


# --- schedules ---------------------------------------------------------------------------------


def prefect_yaml() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def test_prefect_yaml_is_a_valid_deployment_file_for_these_flows():
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.flows import load_flow_from_entrypoint

    raw = prefect_yaml()
    PrefectYamlModel.model_validate(raw)  # the shape `prefect deploy` accepts
    deployments = {d["name"]: d for d in raw["deployments"]}
    assert {"eastmoor-quarterly", "westvale-quarterly", "all-authorities-quarterly"} <= set(
        deployments
    )
    cwd = os.getcwd()
    os.chdir(ROOT)  # entrypoints and parameters are relative to the project folder
    try:
        for name, deployment in deployments.items():
            assert deployment["work_pool"]["name"] == "cldetl-local"
            flow = load_flow_from_entrypoint(deployment["entrypoint"])
            flow.validate_parameters(deployment["parameters"])  # names and types fit the flow
            for key in ("mapping_path", "mappings_dir"):
                if key in deployment["parameters"]:
                    assert Path(deployment["parameters"][key]).exists(), (name, key)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("deployment", ["eastmoor-quarterly", "westvale-quarterly"])
def test_schedule_runs_early_in_each_submission_month_london_time(deployment):
    from prefect.server.schemas.schedules import CronSchedule

    spec = next(d for d in prefect_yaml()["deployments"] if d["name"] == deployment)
    (entry,) = spec["schedules"]
    assert entry.get("active", True) is True
    schedule = CronSchedule(cron=entry["cron"], timezone=entry["timezone"])
    assert schedule.timezone == "Europe/London"
    start = datetime(2026, 1, 1, tzinfo=LONDON)
    # As standard-library datetimes (Prefect 3.9 returns Pendulum ones, whose own date
    # arithmetic is deprecated).
    dates = [
        datetime.fromtimestamp(d.timestamp(), LONDON)
        for d in asyncio.run(schedule.get_dates(n=5, start=start))
    ]
    local = [d.astimezone(LONDON) for d in dates]

    assert [d.date() for d in local] == [
        date(2026, 1, 5),
        date(2026, 4, 5),
        date(2026, 7, 5),
        date(2026, 10, 5),
        date(2027, 1, 5),
    ]
    assert {(d.hour, d.minute) for d in local} == {(6, 0)}  # 06:00 in England all year
    utc = [d.astimezone(ZoneInfo("UTC")) for d in dates]
    assert [d.hour for d in utc] == [6, 5, 5, 5, 6]  # GMT in January; BST to late October

    # Each run produces the quarter just ended (guidance, "Collection schedule").
    from cldetl.spec.period import ReportingPeriod

    ends = [ReportingPeriod.last_completed(d.date()).end for d in local]
    assert ends == [
        date(2025, 12, 31),
        date(2026, 3, 31),
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
    ]
    assert all(d.date() - e <= timedelta(days=7) for d, e in zip(local, ends, strict=True))


# A busy test server (SQLite, a shared CI machine) answers 503 while its database is locked;
# Prefect's own client retries those, and so does the one raw request below.
BUSY = (502, 503, 504)


def post_when_available(url: str, body: dict, attempts: int = 8):
    """POST, retrying while the server says it is busy (with a growing pause: 0.5 s to 32 s)."""
    import httpx

    for attempt in range(attempts):
        try:
            response = httpx.post(url, json=body, timeout=60)
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
            response = None
        if response is not None and response.status_code not in BUSY:
            return response
        time.sleep(min(0.5 * 2**attempt, 32))
    return response if response is not None else httpx.post(url, json=body, timeout=60)


def test_post_when_available_waits_out_a_busy_server(monkeypatch):
    import httpx

    answers = [503, 503, 502, 201]
    calls = []

    def fake_post(url, json, timeout):
        calls.append(url)
        return httpx.Response(answers[len(calls) - 1], request=httpx.Request("POST", url))

    monkeypatch.setattr(httpx, "post", fake_post)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    assert post_when_available("http://x/api/y", {}).status_code == 201
    assert len(calls) == 4


@pytest.mark.slow
def test_deployed_schedules_create_runs_early_in_each_submission_month(prefect_server):
    """`prefect deploy --all` with the real prefect.yaml, then the server schedules a year of
    runs: the dates, times, time zone and parameters are those the docs promise."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    env = {**os.environ, "PREFECT_API_URL": api, "PYTHONPATH": str(ROOT)}
    prefect_cli = [sys.executable, "-m", "prefect"]
    for command in (
        ["work-pool", "create", "cldetl-local", "--type", "process", "--overwrite"],
        ["--no-prompt", "deploy", "--all"],
    ):
        done = subprocess.run(
            prefect_cli + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr

    expected = [
        datetime(y, m, 5, 6, 0, tzinfo=LONDON)
        for y, m in [(2026, 1), (2026, 4), (2026, 7), (2026, 10), (2027, 1)]
    ]
    raw = {d["name"]: d for d in prefect_yaml()["deployments"]}
    with client() as c:
        for name, flow_name in (
            ("eastmoor-quarterly", "quarterly-return"),
            ("westvale-quarterly", "quarterly-return"),
            ("all-authorities-quarterly", "all-authorities"),
        ):
            deployment = c.read_deployment_by_name(f"{flow_name}/{name}")
            assert deployment.parameters == raw[name]["parameters"]
            response = post_when_available(
                f"{api}/deployments/{deployment.id}/schedule",
                {
                    "start_time": "2026-01-01T00:00:00+00:00",
                    "end_time": "2027-01-06T00:00:00+00:00",
                    "min_runs": 5,
                    "max_runs": 5,
                },
            )
            assert response.status_code < 300, response.text
            runs = c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            )
            starts = sorted(
                datetime.fromtimestamp(r.expected_start_time.timestamp(), LONDON) for r in runs
            )
            if name == "all-authorities-quarterly":
                assert starts == []  # its schedule is off unless a hub turns it on
            else:  # (each earlier deploy to this server adds its own runs on the same dates)
                assert sorted(set(starts)) == expected, name


# --- telemetry ---------------------------------------------------------------------------------

_CAPTURE_ENV_AT_PREFECT_IMPORT = """
import importlib.abc, json, os, sys
from pathlib import Path
seen = {}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "prefect" and not seen:
            seen.update({k: os.environ.get(k) for k in sys.argv[2:]})
        return None
sys.meta_path.insert(0, Watch())
from cldetl.cli.flows_loader import load_flows_module
stem = sys.argv[1]
load_flows_module(stem, Path("flows") / f"{stem}.py")
print(json.dumps(seen))
"""


@pytest.mark.parametrize("stem", ["quarterly_return", "all_authorities"])
def test_prefect_telemetry_is_off_before_prefect_is_imported(stem):
    """`cldetl run --prefect` and `cldetl run-all` start a temporary Prefect server when no
    PREFECT_API_URL is set: analytics must be off before Prefect is imported."""
    import json

    from cldetl.cli.flows_loader import TELEMETRY_OFF

    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _CAPTURE_ENV_AT_PREFECT_IMPORT, stem, *TELEMETRY_OFF],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


# --- a real Dask cluster -----------------------------------------------------------------------

# Three generated authorities of different sizes (people besides the story people) on both
# case systems, and one whose database URL variable is not set.
CLUSTER_AUTHORITIES = (
    ("mosaic", "eastmoor", 981, "Smallshire", 40),
    ("liquidlogic", "westvale", 982, "Midshire", 150),
    ("mosaic", "eastmoor", 983, "Largeshire", 400),
)


@pytest.mark.slow
def test_all_authorities_on_a_dask_scheduler_and_two_worker_processes(
    prefect_server, tmp_path, monkeypatch
):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as on a real cluster:
    each authority's files are byte-identical to a single-machine run (`cldetl run`'s
    pipeline), and the broken one is reported as failed without stopping the others."""
    from prefect.settings import PREFECT_API_URL

    from cldetl.pipeline import run as run_pipeline
    from examples.mosaic_liquidlogic.generate import build_database
    from tests.flow_fixtures import DaskProcesses, authority_mapping, published_files

    aa = load_flow_module("all_authorities")
    mappings = tmp_path / "mappings"
    for system, example, code, name, people in CLUSTER_AUTHORITIES:
        url = f"sqlite:///{tmp_path / 'db' / f'{name.lower()}.db'}"
        build_database(system, url, people=people, seed=code)
        monkeypatch.setenv(f"{name.upper()}_DB_URL", url)
        authority_mapping(mappings, ROOT / "mappings" / f"{example}.yaml", code, name)
    authority_mapping(mappings, ROOT / "mappings" / "westvale.yaml", 984, "Brokenshire")
    monkeypatch.delenv("BROKENSHIRE_DB_URL", raising=False)

    # Reference: each authority on this machine, without Prefect or Dask.
    single = tmp_path / "single"
    for *_, name, _ in CLUSTER_AUTHORITIES:
        run_pipeline(
            mappings / f"{name.lower()}.yaml",
            single / name.lower(),
            PERIOD_END,
            connectors_dir=ROOT / "connectors",
        )

    # The workers get what the docs say each worker needs: the package (this environment),
    # the mappings and connectors at the same paths, the database URL variables, and the
    # Prefect API the run reports to.
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    cluster = DaskProcesses(tmp_path / "dask", env, workers=2)
    try:
        cluster.wait_for_workers(2)
        out = tmp_path / "cluster-out"
        state = aa.all_authorities(
            mappings_dir=str(mappings),
            period_end=PERIOD_END,
            out_dir=str(out),
            cluster_address=cluster.address,
            connectors_dir=str(ROOT / "connectors"),
            retry_backoff_seconds=0.05,
            return_state=True,
        )
    finally:
        cluster.stop()
    logs = cluster.log_text()
    assert all(p.poll() is not None for p in cluster.procs)  # everything it started stopped

    assert state.is_failed(), logs
    error = state.result(raise_on_failure=False)
    outcomes = {o["authority"]: o for o in error.outcomes}
    assert set(outcomes) == {"Smallshire", "Midshire", "Largeshire", "Brokenshire"}, logs
    assert state.message.startswith("1 of 4 authorities failed (Brokenshire")
    broken = outcomes["Brokenshire"]
    assert (broken["state"], broken["la_code"], broken["rows"]) == ("FAILED", "984", None)
    assert "BROKENSHIRE_DB_URL" in broken["message"]
    assert not (out / "brokenshire").exists()

    rows = []
    for *_, code, name, _ in CLUSTER_AUTHORITIES:
        outcome = outcomes[name]
        assert outcome["state"] == "COMPLETED", outcome["message"]
        expected = published_files(single / name.lower())
        assert f"CLD_R2_{code}_20250930.csv" in expected
        assert published_files(out / name.lower()) == expected, name
        rows.append(outcome["rows"])
    assert rows == sorted(rows) and len(set(rows)) == 3, rows  # three sizes


# --- cldetl run-all ------------------------------------------------------------------------------


def test_run_all_refuses_an_address_that_is_not_a_scheduler(tmp_path):
    from click.testing import CliRunner

    from cldetl.cli import cli

    (tmp_path / "mappings").mkdir()
    result = CliRunner().invoke(
        cli, ["run-all", "--mappings", str(tmp_path / "mappings"), "--cluster", "10.0.0.5:8786"]
    )
    assert result.exit_code == 2
    assert "tcp://HOST:PORT" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("state", "code"), [("COMPLETED", 0), ("FAILED", 1)])
def test_run_all_passes_the_cluster_on_and_lists_each_authority(tmp_path, monkeypatch, state, code):
    """The command only calls the flow (tested above on real clusters) and prints outcomes."""
    from click.testing import CliRunner

    from cldetl.cli import cli

    aa = load_flow_module("all_authorities")
    calls = []

    def fake_run(
        mappings_dir, period_end, out_dir, cluster_address, n_workers, html, connectors, **options
    ):
        calls.append((mappings_dir, period_end, out_dir, cluster_address, n_workers, connectors))
        assert options == {"allow_future": False}
        done = {"authority": "Eastmoor", "la_code": "998", "rows": 1234, "errors": 0}
        done.update(state="COMPLETED", out_dir="/srv/out/eastmoor", message="")
        broken = {"authority": "Brokenvale", "la_code": "996", "rows": None, "errors": None}
        broken.update(state="FAILED", out_dir="", message="BROKENVALE_DB_URL is not set")
        return {"authorities": [done, broken], "state": state, "state_message": ""}

    monkeypatch.setattr(aa, "run_all_authorities", fake_run)
    mappings, connectors = ROOT / "mappings", ROOT / "connectors"
    result = CliRunner().invoke(
        cli,
        ["run-all", "--mappings", str(mappings), "--period-end", "2025-09-30",
         "--cluster", "tcp://127.0.0.1:8786", "--out", str(tmp_path),
         "--connectors", str(connectors)],
    )  # fmt: skip
    assert result.exit_code == code, result.output
    assert calls == [
        (str(mappings), PERIOD_END, str(tmp_path), "tcp://127.0.0.1:8786", 2, str(connectors))
    ]
    assert "Eastmoor" in result.output and "1,234" in result.output
    assert "BROKENVALE_DB_URL is not set" in result.output


# --- every option of `cldetl run` through the flow (issue 20, points 6 and 8) -----------------


@pytest.fixture
def spied(monkeypatch):
    """What the run's writers were asked for: the portal file's encoding and gzip, and the
    report's technical appendix (a stand-in writes the report, as in test_flows)."""
    import cldetl.pipeline
    import cldetl.report.page

    asked: dict = {}
    real_writer = cldetl.pipeline.write_portal_csv

    def portal_csv(frame, path, **options):
        asked.update(encoding=options["encoding"], gzip=options["use_gzip"])
        return real_writer(frame, path, **options)

    def report(out_dir, **options):
        asked["technical_appendix"] = options["technical_appendix"]
        page = Path(out_dir) / "report.html"
        page.write_text("<html></html>")
        return [page]

    monkeypatch.setattr(cldetl.pipeline, "write_portal_csv", portal_csv)
    monkeypatch.setattr(cldetl.report.page, "write_run_report", report)
    return asked


# Each option of `cldetl run`, the keyword `run_quarterly_return` takes it as, and what the
# writers must then be asked for (the mapping says windows-1252, no gzip).
OPTIONS = [
    (["--encoding", "utf-8"], {"encoding": "utf-8"}, {"encoding": "utf-8"}),
    (["--gzip"], {"use_gzip": True}, {"gzip": True}),
    (["--report"], {"html_report": True}, {"technical_appendix": False}),
    (
        ["--report", "--technical-appendix"],
        {"html_report": True, "technical_appendix": True},
        {"technical_appendix": True},
    ),
]


@pytest.mark.parametrize(("args", "keywords", "expected"), OPTIONS)
def test_each_run_option_reaches_the_flow_run(
    prefect_server, qr, mapping_path, sources, spied, tmp_path, args, keywords, expected
):
    sources()
    options = {k: v for k, v in keywords.items() if k != "html_report"}
    result = qr.run_quarterly_return(
        mapping_path, "30/09/2025", tmp_path / "out", keywords.get("html_report", False), **options
    )
    assert result["state"] == "COMPLETED", result["state_message"]
    for key, value in expected.items():
        assert spied[key] == value, key
    cld = Path(result["files"]["cld"])
    assert cld.name.endswith(".csv.gz") == bool(keywords.get("use_gzip"))
    assert ("report.html" in result["files"]) == bool(keywords.get("html_report"))


@pytest.mark.parametrize(("args", "keywords", "expected"), OPTIONS)
def test_run_prefect_passes_each_option_on(
    monkeypatch, mapping_path, tmp_path, args, keywords, expected
):
    """The command hands the flow what it was given (the flow itself is run above)."""
    from click.testing import CliRunner

    from cldetl.cli import cli

    module = load_flow_module("quarterly_return")
    calls = []

    def fake(path, period_end, out, html_report, **options):
        calls.append({"html_report": html_report, **options})
        return {
            "authority": "T", "la_code": "901", "period": "p", "rows_written": 0,
            "excluded_by_reason": {}, "unmapped_codes": 0, "unmapped_rows": 0,
            "validation_errors": 0, "validation_warnings": 0, "files": {}, "state": "COMPLETED",
        }  # fmt: skip

    monkeypatch.setattr(module, "run_quarterly_return", fake)
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(mapping_path), "--prefect", "--out", str(tmp_path), *args],
    )
    assert result.exit_code == 0, result.output
    (call,) = calls
    defaults = {
        "html_report": False,
        "encoding": None,
        "use_gzip": None,
        "technical_appendix": False,
        "allow_future": False,
    }
    assert call == {**defaults, **keywords}


@pytest.mark.parametrize(
    ("period_end", "message"),
    [
        ("2025-09-31", "period end '2025-09-31': the day is 31, but September 2025 has 30 days"),
        ("30/13/2025", "period end '30/13/2025': the month is 13, not 1 to 12"),
        ("Sept 2025", "period end 'Sept 2025' is not a date: give it as dd/mm/yyyy"),
        ("2099-12-31", "period end 31/12/2099 is after today"),
    ],
)
def test_a_bad_period_end_fails_the_flow_run_with_the_cli_message(
    prefect_server, qr, mapping_path, sources, tmp_path, period_end, message
):
    from click.testing import CliRunner

    sources()
    state = run_flow(qr, mapping_path, tmp_path / "out", period_end=period_end)
    assert state.is_failed()
    assert state.message.startswith(message) and "\n" not in state.message
    from cldetl.cli import cli as command

    cli = CliRunner().invoke(
        command,
        ["sql", "--mapping", str(mapping_path), "--period-end", period_end],
    )
    assert cli.exit_code == 2
    assert cli.output == f"Error: {state.message}\n"  # the same one line
    logs = "\n".join(logs_of(state))
    assert "Traceback" not in logs and "validation error" not in logs, logs
    assert not (tmp_path / "out").exists()  # refused before anything was touched


def test_the_flow_takes_a_period_end_as_analysts_write_it(
    prefect_server, qr, mapping_path, sources, tmp_path
):
    sources()
    state = run_flow(qr, mapping_path, tmp_path / "out", period_end="30/09/2025")
    assert state.is_completed(), state.message
    assert state.result()["period"] == "01/10/2024 to 30/09/2025"


def test_all_authorities_fails_a_bad_period_end_with_the_cli_message(prefect_server, tmp_path):
    aa = load_flow_module("all_authorities")
    state = aa.all_authorities(
        mappings_dir=str(tmp_path), period_end="31/09/2025", return_state=True
    )
    assert state.is_failed()
    assert state.message == (
        "period end '31/09/2025': the day is 31, but September 2025 has 30 days; use 30/09/2025."
    )
    logs = "\n".join(logs_of(state))
    assert "Traceback" not in logs and "validation error" not in logs, logs
