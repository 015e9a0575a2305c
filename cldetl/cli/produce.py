"""Commands that produce a return: run (one authority, directly or as the Prefect flow),
run-all (every authority on a Dask cluster) and sql (the SQL a run would send, for the DBA).

Each only calls library code (`cldetl.pipeline`, the flows in flows/) and turns the result into
output and an exit code (`cldetl.cli.exit_codes`); progress and summaries show counts, never
values.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from cldetl.cli.exit_codes import EXIT_DATA_ERRORS, EXIT_OK
from cldetl.cli.flows_loader import load_flows_module
from cldetl.cli.options import (
    connectors_option,
    html_report_option,
    mapping_option,
    out_dir_option,
    period_end_option,
    technical_appendix_option,
    verbose_option,
)
from cldetl.cli.terminal import output_console
from cldetl.display import shown
from cldetl.errors import UsageError
from cldetl.extract import format_rendered, render_all
from cldetl.mapping import load_mapping
from cldetl.pipeline import dry_run as describe
from cldetl.pipeline import reporting_period, summary
from cldetl.pipeline import run as run_pipeline


@click.command()
@mapping_option
@period_end_option
@out_dir_option(None, "Output folder (default: out/<mapping name>).")
@html_report_option("Also write report.html (for analysts and managers) and findings.xlsx.")
@technical_appendix_option(
    "With --report: also cross-check with Great Expectations and write its Data Docs "
    "under technical/ (slow: Great Expectations takes seconds to start)."
)
@connectors_option
@click.option(
    "--prefect",
    is_flag=True,
    help="Run as the Prefect flow flows/quarterly_return.py (retries, artifacts, run history). "
    "Starts a temporary local Prefect server unless PREFECT_API_URL is set.",
)
@click.option(
    "--dry-run", is_flag=True, help="Only show what would be extracted and the SQL it would run."
)
@click.option(
    "--encoding",
    type=click.Choice(["windows-1252", "utf-8"]),
    default=None,
    help="Encoding of the CLD file (default: the mapping's output.encoding, windows-1252 as the "
    "DLP asks; utf-8 only where the DSCRO agreed to it).",
)
@click.option(
    "--gzip/--no-gzip",
    "use_gzip",
    default=None,
    help="Write the CLD file gzipped (.csv.gz), which the DLP accepts (default: the mapping's "
    "output.gzip).",
)
@click.option(
    "--list-left-out",
    is_flag=True,
    help="Also write left_out_records.csv: the source key and reason of every row the "
    "templates leave out in the database (a second query per source).",
)
@click.option(
    "--trial",
    is_flag=True,
    help="Run a mapping that still has TODO or unchecked marks (refused otherwise); the run "
    "is marked as a trial in its manifest, report and console: not for submission.",
)
@verbose_option
def run(
    mapping_path: str,
    period_end: date | None,
    allow_future: bool,
    out_dir: str | None,
    html_report: bool,
    connectors_dir: Path | None,
    prefect: bool,
    dry_run: bool,
    encoding: str | None = None,
    use_gzip: bool | None = None,
    technical_appendix: bool = False,
    trial: bool = False,
    list_left_out: bool = False,
) -> None:
    """Extract, transform, validate and write one authority's CLD return.

    Exit status: 0 the file validates, 1 it has errors (files still written), 2 could not run.
    """

    console = output_console()
    if dry_run:
        click.echo(describe(mapping_path, period_end, connectors_dir))
        sys.exit(EXIT_OK)
    out = out_dir or str(Path("out") / Path(mapping_path).stem)
    if prefect:
        if trial:  # a flow (scheduled or not) never runs an unchecked mapping
            raise UsageError("--trial does not apply with --prefect: flows run checked mappings.")
        if connectors_dir:
            raise UsageError(
                "--connectors does not apply with --prefect: the flow uses connectors/ beside "
                "the mapping's folder."
            )
        flows = flows_module(mapping_path, "quarterly_return")
        numbers = flows.run_quarterly_return(
            mapping_path,
            period_end,
            out,
            html_report,
            encoding=encoding,
            use_gzip=use_gzip,
            technical_appendix=technical_appendix,
            allow_future=allow_future,
        )
        print_run_summary(console, numbers)
        if numbers.get("state") == "FAILED":
            console.print(
                f"  [red]flow run failed: {shown(numbers.get('state_message'), limit=300)}[/red]"
            )
        sys.exit(EXIT_DATA_ERRORS if numbers["validation_errors"] else EXIT_OK)

    with _StageProgress(console) as stages:
        result = run_pipeline(
            mapping_path,
            out,
            period_end,
            html_report=html_report,
            connectors_dir=connectors_dir,
            progress=True,
            on_stage=stages.update,
            output={k: v for k, v in (("encoding", encoding), ("gzip", use_gzip)) if v is not None},
            technical_appendix=technical_appendix,
            trial=trial,
            list_left_out=list_left_out,
        )
    print_run_summary(console, summary(result))
    sys.exit(result.exit_code)


class _StageProgress:
    """A line per pipeline stage with its row count (counts only, never values)."""

    LABELS = {
        "extract": "source rows read",
        "transform": "CLD rows built",
        "validate": "rows validated",
        "write": "files written",
    }

    def __init__(self, console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(finished_text="[green]done[/green]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _StageProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, stage: str, status: str, rows: int | None = None) -> None:
        if status == "start":
            self.tasks[stage] = self.progress.add_task(f"{stage} ...", total=1)
            return
        label = f"{stage}: {rows:,} {self.LABELS.get(stage, 'rows')}"
        self.progress.update(self.tasks[stage], description=label, completed=1)


def flows_module(mapping_path: str, name: str):
    """flows/<name>.py beside the mapping's folder (or in the current folder)."""

    candidates = [
        Path(mapping_path).resolve().parent.parent / "flows" / f"{name}.py",
        Path.cwd() / "flows" / f"{name}.py",
    ]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise UsageError(
            f"flows/{name}.py was not found beside the mapping's folder or in the current "
            "folder; run from the cldetl repository (or the authority's copy of it)."
        )
    return load_flows_module(name, path)


def print_run_summary(console, numbers: dict) -> None:
    """The run's counts (rows, reconciliation, exclusions, unmapped codes, findings) and the
    files written; every value escaped by `shown`."""
    from rich.table import Table

    console.print(
        f"[bold]{shown(numbers['authority'])}[/bold] (LA {shown(numbers['la_code'])}), "
        f"{shown(numbers['period'])}"
    )
    if numbers.get("trial"):
        console.print("  [bold yellow]TRIAL RUN of an unchecked mapping: not for submission[/]")
    console.print(f"  rows written: {shown(numbers['rows_written'])}")
    if numbers.get("reconciliation"):
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        columns = ("  source", "table rows", "left out in database", "read")
        for column in (*columns, "in output", "person details", "excluded"):
            table.add_column(column, justify="left" if column == "  source" else "right")
        for row in numbers["reconciliation"]:
            table.add_row(
                f"  {shown(row['source'])}",
                "" if row.get("table_rows") is None else f"{row['table_rows']:,}",
                ""
                if row.get("left_out_in_database") is None
                else f"{row['left_out_in_database']:,}",
                f"{row['read']:,}",
                f"{row['in_output']:,}",
                f"{row['person_details']:,}",
                f"{row['excluded']:,}",
            )
        console.print(table)
    if numbers["excluded_by_reason"]:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("  excluded records, by reason")
        table.add_column("records", justify="right")
        for reason, n in numbers["excluded_by_reason"].items():
            table.add_row(f"  {shown(reason, limit=200)}", shown(n))
        console.print(table)
    style = "yellow" if numbers["unmapped_codes"] else "green"
    console.print(
        f"  [{style}]unmapped local codes: {shown(numbers['unmapped_codes'])} "
        f"({shown(numbers['unmapped_rows'])} values)[/{style}]"
    )
    for warning in numbers.get("run_warnings") or []:
        console.print(f"  [yellow]warning: {shown(warning, limit=300)}[/yellow]")
    style = "red" if numbers["validation_errors"] else "green"
    console.print(
        f"  [{style}]validation: {shown(numbers['validation_errors'])} error(s)[/{style}], "
        f"{shown(numbers['validation_warnings'])} warning(s)"
    )
    for name, path in numbers["files"].items():
        if name != "cld":
            console.print(f"  {shown(name)}: {shown(path, limit=300)}", highlight=False)
    if numbers.get("run_folder"):
        console.print(f"  run folder: {shown(numbers['run_folder'], limit=300)}")
    if numbers.get("compared_with"):
        console.print(f"  compared with last quarter: {shown(numbers['compared_with'], limit=300)}")


@click.command(name="run-all")
@click.option(
    "--mappings",
    "mappings_dir",
    default="mappings",
    show_default=True,
    type=click.Path(file_okay=False, exists=True),
    help="The folder of mapping files: one return per *.yaml.",
)
@period_end_option
@out_dir_option("out", "Each authority's files go to <out>/<mapping name>/.")
@click.option(
    "--cluster",
    "cluster_address",
    default=None,
    metavar="tcp://HOST:PORT",
    help="A running Dask scheduler to run on (default: a local cluster for this run).",
)
@click.option(
    "--workers",
    "n_workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes of the local cluster (without --cluster).",
)
@html_report_option("Also write the HTML reports.")
@connectors_option
@verbose_option
def run_all(
    mappings_dir: str,
    period_end: date | None,
    allow_future: bool,
    out_dir: str,
    cluster_address: str | None,
    n_workers: int,
    html_report: bool,
    connectors_dir: Path | None,
) -> None:
    """Every authority's return, in parallel on a Dask cluster (Prefect flow all-authorities).

    Exit status: 0 all completed without validation errors, 1 any authority failed, 2 could
    not run. Starts a temporary local Prefect server unless PREFECT_API_URL is set.
    """

    from rich.table import Table

    if cluster_address and not cluster_address.startswith(("tcp://", "tls://", "inproc://")):
        raise UsageError(
            f"--cluster {shown(cluster_address)} is not a Dask scheduler address; give it as "
            "tcp://HOST:PORT (`dask scheduler` prints it)."
        )
    # flows/ beside the mappings folder, as for `run --prefect` (a mapping inside it).
    flows = flows_module(str(Path(mappings_dir) / "any.yaml"), "all_authorities")
    done = flows.run_all_authorities(
        mappings_dir,
        period_end,
        out_dir,
        cluster_address,
        n_workers,
        html_report,
        str(connectors_dir.resolve()) if connectors_dir else None,
        allow_future=allow_future,
    )
    console = output_console()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("authority", "LA", "state", "rows", "errors", "output / reason"):
        table.add_column(column)
    for o in done["authorities"]:
        completed = o["state"] == "COMPLETED"
        table.add_row(
            shown(o["authority"]),
            shown(o["la_code"]),
            f"[{'green' if completed else 'red'}]{o['state']}[/]",
            "" if o["rows"] is None else f"{o['rows']:,}",
            "" if o["errors"] is None else str(o["errors"]),
            shown(o["out_dir"] if completed else o["message"], limit=200),
        )
    console.print(table)
    sys.exit(EXIT_OK if done["state"] == "COMPLETED" else EXIT_DATA_ERRORS)


@click.command()
@mapping_option
@click.option(
    "--dialect",
    type=click.Choice(["mssql", "postgresql", "oracle", "sqlite"]),
    default="mssql",
    show_default=True,
    help="The database the SQL is rendered for.",
)
@period_end_option
@connectors_option
@verbose_option
def sql(
    mapping_path: str,
    dialect: str,
    period_end: date | None,
    allow_future: bool,
    connectors_dir: Path | None,
) -> None:
    """Print the SQL every source runs, for review by the authority's DBA.

    Values are never in the SQL: they are bind parameters, listed above each statement.
    """

    mapping = load_mapping(mapping_path)
    period = reporting_period(mapping, period_end)
    rendered = render_all(mapping, dialect, period, connectors_dir)
    click.echo(format_rendered(rendered), nl=False)
