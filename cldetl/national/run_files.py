"""What a run folder keeps of the national preview: the preview, each row's fate, the measures,
and the measures against last quarter's run.

The pipeline (cldetl/pipeline.py `write_run`) computes the national run once and hands the same
object to the run folder's files and to the report's "What DHSC will see" section and the
workbook's measure sheets. The measures JSON and the records CSV are also what the next
quarter's run reads back (`against_last_quarter`): each figure, and each record counted in it by
Event Reference and LA person ID, so the records that moved a figure can be named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cldetl.national.measures import Figure, measures, measures_method
from cldetl.national.measures.output import Movement, compare, measures_json, records_csv
from cldetl.national.model import Preview
from cldetl.national.population import PopulationFigures
from cldetl.national.preview import preview
from cldetl.validate.csvfile import CldTable
from cldetl.validate.findings import ValidationReport

PREVIEW_JSON = "national_preview.json"
FATES_CSV = "national_fates.csv"
MEASURES_JSON = "national_measures.json"
RECORDS_CSV = "national_measures_records.csv"
NO_EARLIER_RUN = "No earlier run to compare with"
RECORD_CHUNK = 200_000  # rows of an earlier run's records CSV read at a time


@dataclass
class LastQuarter:
    """The measures against last quarter's run: `movements` None when there was nothing to
    compare with, and `note` says why (never left out silently)."""

    note: str
    threshold: float
    movements: list[Movement] | None = None
    run: str | None = None  # the earlier run folder, as the manifest names it

    def as_dict(self) -> dict:
        return {"note": self.note, "threshold_percent": self.threshold, "previous_run": self.run}


@dataclass
class NationalRun:
    preview: Preview
    figures: list[Figure]
    # The measures are over the stated period when DHSC derives none (the file would not be
    # selected); `stated` says so.
    stated: bool
    not_computable: dict[str, str]
    population: PopulationFigures | None = None
    last_quarter: LastQuarter | None = field(default=None)

    def files(self) -> dict[str, str]:
        """File name -> text, for the run folder."""
        movements = self.last_quarter.movements if self.last_quarter else None
        extra: dict = {"over_the_stated_period": self.stated}
        if self.population is not None:
            extra["population"] = {
                "source": self.population.source,
                "given_in": self.population.given_in,
                "by_age_band": self.population.by_band,
            }
        if self.last_quarter is not None:
            extra["last_quarter"] = self.last_quarter.as_dict()
        return {
            PREVIEW_JSON: json.dumps(self.preview.to_json_dict(), indent=2) + "\n",
            FATES_CSV: self.preview.fates_csv(),
            MEASURES_JSON: json.dumps(
                measures_json(self.figures, self.not_computable, movements) | extra, indent=2
            )
            + "\n",
            RECORDS_CSV: records_csv(self.figures),
        }


def national_run(
    table: CldTable | str | Path,
    report: ValidationReport,
    population: PopulationFigures | None = None,
) -> NationalRun:
    """The preview of a validated return, and its measures (rates per 100,000 when a
    population is given)."""
    return national_run_of(preview(table, report), table, report, population)


def national_run_of(
    p: Preview,
    table: CldTable | str | Path,
    report: ValidationReport,
    population: PopulationFigures | None = None,
) -> NationalRun:
    """`national_run` from a preview already made (`validate_and_preview` reads the file once
    for both); the file is previewed again only when DHSC would derive no period, for the
    measures over the period the file states."""
    stated = p.reference_period is None
    basis = preview(table, report, stated_when_underived=True) if stated else p
    method = measures_method()
    figures = measures(basis, population.by_band if population else None)
    del basis
    return NationalRun(
        # Nothing after the measures reads the unique events (the run files and the report
        # read the fates and counts): the run's preview is kept without them.
        preview=replace(p, events=None),
        figures=figures,
        stated=stated,
        not_computable={**method["not_computable"], **method["not_yet"]},
        population=population,
    )


def against_last_quarter(
    run: NationalRun, previous: Path | None, label: str, threshold: float, period_end: str = ""
) -> LastQuarter:
    """Each figure against the same measure and group in `previous` (last quarter's run folder,
    named `label`, of the period ending `period_end`), with the records that moved it, by the
    measures' own comparison (`cldetl measures --previous`). An earlier run without measures,
    or whose measures cannot be read, is said in the note: the comparison is an aid, not the
    return."""
    if previous is None:
        why = "the output folder holds no run of an earlier period for this authority"
        return LastQuarter(f"{NO_EARLIER_RUN}: {why}.", threshold)
    try:
        before = figures_from_run(previous)
    except FileNotFoundError:
        why = f"the earlier run {label} has no measures (made before cldetl computed them)"
        return LastQuarter(f"{NO_EARLIER_RUN}: {why}.", threshold, None, label)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"the measures of the earlier run {label} cannot be read ({type(exc).__name__})"
        return LastQuarter(f"{NO_EARLIER_RUN}: {why}.", threshold, None, label)
    # A rate set against a count (a population given in one quarter only) is no change:
    # those figures are compared as counts, on both sides.
    rated_now = {_key(f): f.value is not None for f in run.figures}
    unlike = {
        _key(f)
        for f in before
        if _key(f) in rated_now and rated_now[_key(f)] != (f.value is not None)
    }
    now, then = (
        [replace(f, value=None) if _key(f) in unlike else f for f in side]
        for side in (run.figures, before)
    )
    movements = compare(now, then, threshold)
    ending = f" of the period ending {period_end}" if period_end else ""
    note = f"Compared with the earlier run {label}{ending}."
    return LastQuarter(note, threshold, movements, label)


def _key(f: Figure) -> tuple[str, str]:
    return f.measure, f.group


def figures_from_run(run_dir: Path) -> list[Figure]:
    """The figures a run folder holds (its measures JSON), each with the records counted in it
    (from its records CSV, read a chunk at a time keeping only the counted ones)."""
    data = json.loads((run_dir / MEASURES_JSON).read_text(encoding="utf-8"))
    counted = []
    with pd.read_csv(run_dir / RECORDS_CSV, dtype=str, keep_default_na=False,
                     chunksize=RECORD_CHUNK) as chunks:  # fmt: skip
        for chunk in chunks:
            counted.append(chunk[chunk["counted"] == "True"])
    records = pd.concat(counted, ignore_index=True) if counted else pd.DataFrame()
    people = records.drop_duplicates("line").set_index(
        pd.Index(records.drop_duplicates("line")["line"].astype(np.int64))
    )[["event_reference", "la_person"]]
    out = []
    for f in data["figures"]:
        mine = records[(records["measure"] == f["measure"]) & (records["group"] == f["group"])]
        behind = pd.DataFrame(
            {
                "line": mine["line"].astype(np.int64).to_numpy(),
                "counted": np.ones(len(mine), dtype=bool),
                "reason": pd.Categorical(mine["reason"].to_numpy()),
            }
        )
        fields = ("measure", "group", "title", "numerator", "denominator", "value", "unit", "cite")
        out.append(Figure(**{k: f[k] for k in fields}, behind=behind, people=people))
    return out
