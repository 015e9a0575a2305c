"""Running the planned suite with Great Expectations, and judging its agreement with the native
validator.

Great Expectations is imported inside `run_ge` only (through `_import_gx`, which switches GE's
usage statistics off before the import reads the setting): it takes seconds to import, and
`cldetl validate` without the technical appendix must not pay for it. Values that the console
report hides (personal fields, free text, identifiers) are replaced in GE's stored results
before the Data Docs are built from them.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from cldetl.errors import UsageError
from cldetl.report.console import HIDDEN
from cldetl.report.ge_suite import Conjunction, ExpectationPlan, Literal, RowCondition, SuitePlan

if TYPE_CHECKING:
    import pandas as pd

DOCS_DIRNAME = "great_expectations"
SITE_NAME = "cldetl"
SUITE_NAME = "cld_release2"
# Values of coded fields the Data Docs may show: short, with no character that could be markup
# in a page or a control character in a terminal.
DOCS_VALUE_CHARS = 60
UNSAFE_IN_DOCS = re.compile(r"[<>&\"'`\x00-\x1f\x7f-\x9f]")
NOT_SHOWN = "(value with markup or control characters, not shown)"


@dataclass
class Outcome:
    """What GE said about one planned expectation."""

    plan: ExpectationPlan
    expectation_type: str
    success: bool | None
    unexpected: int | None
    error: str | None = None


@dataclass
class GeRun:
    outcomes: list[Outcome]
    docs_index: Path | None
    validation_page: Path | None
    suite_page: Path | None
    seconds: float


def _ge_condition(when: RowCondition) -> Any:
    """Our OR of ANDs as GE Condition objects (the caller leaves out 'every row')."""
    from great_expectations.expectations.row_conditions import AndCondition, Column, OrCondition

    def literal(lit: Literal) -> Any:
        column = Column(lit.column)
        if lit.op == "in":
            return column.is_in(lit.values)
        if lit.op == "not_in":
            return column.is_not_in(lit.values)
        if lit.op == "null":
            return column.is_null()
        if lit.op == "not_null":
            return column.is_not_null()
        value = lit.values[0]
        return {
            ">=": column >= value,
            "<=": column <= value,
            ">": column > value,
            "<": column < value,
        }[lit.op]

    def conjunction(conj: Conjunction) -> Any:
        parts = [literal(lit) for lit in conj]
        return parts[0] if len(parts) == 1 else AndCondition(conditions=parts)

    alternatives = [conjunction(c) for c in when]
    if len(alternatives) == 1:
        return alternatives[0]
    return OrCondition(conditions=alternatives)


def _import_gx() -> Any:
    """Great Expectations, with its usage statistics off (set before the import reads it)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    try:
        import great_expectations as gx
    except ModuleNotFoundError as exc:
        if exc.name != "great_expectations":
            raise
        raise UsageError(
            "the technical appendix needs Great Expectations, an optional part of cldetl: "
            'install it with `pip install "cldetl[ge]"` (make demo and make test do), or run '
            "without --technical-appendix."
        ) from None
    return gx


def _make_expectation(gxe: Any, index: int, plan: ExpectationPlan) -> Any | None:
    """The GE expectation for a plan; None when its condition can never hold."""
    kwargs = dict(plan.kwargs)
    if plan.when is not None:
        if plan.when == ():
            return None
        if plan.when != ((),):
            kwargs["row_condition"] = _ge_condition(plan.when)
    return getattr(gxe, plan.expectation)(
        **kwargs,
        description=plan.description,
        meta={"cldetl_index": index, "rules": list(plan.rules), "column": plan.column},
        severity="critical" if plan.severity == "error" else "warning",
    )


def run_ge(plan: SuitePlan, frame: pd.DataFrame, docs_dir: Path) -> GeRun:
    """Validate `frame` against the planned suite with GE, and build Data Docs in `docs_dir`.

    The checkpoint runs without actions so that, before the Data Docs are built, unexpected
    values the console hides (personal fields, free text, identifiers) can be replaced in the
    stored results: GE applies one result format to a whole run, not one per expectation.
    """
    started = time.perf_counter()
    gx = _import_gx()
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "show_cta_footer": False,
                },
            }
        },
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("cld_file")
    asset = source.add_dataframe_asset("release2_csv")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_file")
    # Built whole, then stored once: adding to a stored suite re-serialises it every time.
    made = (_make_expectation(gxe, i, p) for i, p in enumerate(plan.expectations))
    suite = context.suites.add(
        gx.ExpectationSuite(name=SUITE_NAME, expectations=[e for e in made if e is not None])
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="cld_release2_check", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="cldetl_report",
            validation_definitions=[definition],
            actions=[],
            result_format={"result_format": "BASIC", "partial_unexpected_count": 20},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})

    by_index: dict[int, Any] = {}
    identifiers = []
    for identifier, run_result in result.run_results.items():
        for r in run_result.results:
            index = int(r.expectation_config.meta["cldetl_index"])
            by_index[index] = r
            if plan.expectations[index].hide_values:
                _hide_values(r)
            else:
                _safe_values(r)
        context.validation_results_store.set(identifier, run_result)
        identifiers.append(identifier)
    context.build_data_docs(site_names=[SITE_NAME])
    outcomes = [_outcome(planned, by_index.get(i)) for i, planned in enumerate(plan.expectations)]
    index_page = docs_dir / "index.html"
    suite_page = docs_dir / "expectations" / f"{SUITE_NAME}.html"
    pages = [_site_path(context, identifier) for identifier in identifiers]
    return GeRun(
        outcomes=outcomes,
        docs_index=index_page if index_page.exists() else None,
        validation_page=next((p for p in pages if p is not None), None),
        suite_page=suite_page if suite_page.exists() else None,
        seconds=time.perf_counter() - started,
    )


def _hide_values(r: Any) -> None:
    """Replace the unexpected values GE kept for one result by a placeholder (counts stay)."""

    result = r.result
    if not result:
        return
    count = int(result.get("unexpected_count") or 0)
    for key in ("partial_unexpected_list", "unexpected_list"):
        if key in result:
            result[key] = [HIDDEN] if count else []
    for key in ("partial_unexpected_counts", "unexpected_counts"):
        if key in result:
            result[key] = [{"value": HIDDEN, "count": count}] if count else []
    result.pop("unexpected_rows", None)


def shown_in_docs(value: Any) -> Any:
    """A value of a coded field as the Data Docs may show it: as it is when it is short plain
    text, else a placeholder (GE's pages do not escape every value they print)."""
    if isinstance(value, str) and (len(value) > DOCS_VALUE_CHARS or UNSAFE_IN_DOCS.search(value)):
        return NOT_SHOWN
    return value


def _safe_values(r: Any) -> None:
    """Replace unexpected values that hold markup or control characters (or are too long)."""
    result = r.result
    if not result:
        return
    for key in ("partial_unexpected_list", "unexpected_list"):
        if key in result:
            result[key] = [shown_in_docs(v) for v in result[key]]
    for key in ("partial_unexpected_counts", "unexpected_counts"):
        if key in result:
            result[key] = [dict(c, value=shown_in_docs(c.get("value"))) for c in result[key]]
    result.pop("unexpected_rows", None)


def _site_path(context: Any, identifier: Any) -> Path | None:

    for site in context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE_NAME):
        url = site.get("site_url")
        if url and url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.exists():
                return path
    return None


def _outcome(plan: ExpectationPlan, r: Any) -> Outcome:
    if r is None:
        if plan.when == ():  # the condition can never hold: nothing to check
            return Outcome(plan, _snake(plan.expectation), True, 0)
        return Outcome(plan, _snake(plan.expectation), None, None, "no result from GE")
    kind = r.expectation_config.type
    message = _exception_message(r.exception_info)
    if message is not None:
        return Outcome(plan, kind, None, None, message)
    result = r.result or {}
    if plan.expectation == "ExpectTableColumnsToMatchSet":
        missing = result.get("details", {}).get("mismatched", {}).get("missing", [])
        unexpected = len(missing)
    else:
        unexpected = result.get("unexpected_count")
    return Outcome(plan, kind, bool(r.success), None if unexpected is None else int(unexpected))


def _exception_message(info: Any) -> str | None:
    """GE's exception info is one {raised_exception, exception_message} dict, or one per metric."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            text = str(entry.get("exception_message") or "error")
            return (text.splitlines() or ["error"])[0][:200]
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- Agreement with the native findings --------------------------------------------------------


@dataclass
class Agreement:
    rules: tuple[str, ...]
    column: str | None
    ge: int | None
    native: int

    @property
    def agrees(self) -> bool:
        return self.ge is not None and self.ge == self.native


def native_count(findings: pd.DataFrame, rules: tuple[str, ...], column: str | None) -> int:
    """How many native findings a (rules, column) key covers."""
    mask = findings["rule"].isin(list(rules))
    if column is not None:
        mask &= findings["column"].eq(column).fillna(False).astype(bool)
    return int(mask.sum())


def agreement(outcomes: list[Outcome], findings: pd.DataFrame) -> dict[tuple, Agreement]:
    """Per (rules, column): GE's unexpected count (summed over its plans) against native."""
    out: dict[tuple, Agreement] = {}
    for o in outcomes:
        key = o.plan.key
        if key not in out:
            out[key] = Agreement(o.plan.rules, o.plan.column, 0, native_count(findings, *key))
        current = out[key]
        if current.ge is not None:
            current.ge = None if o.unexpected is None else current.ge + o.unexpected
    return out
