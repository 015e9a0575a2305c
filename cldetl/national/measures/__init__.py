"""The measures DHSC publishes from CLD, computed from the file before it is submitted.

One module per measure, each following DHSC's ASCOF_measures/ SQL, and the waiting times
following Waiting_times/ (lists in cldetl/spec/national_measures.yaml). They run on the
preview's unique events (after DHSC's period filter and deduplication), over the derived
reporting period as the measure year.
"""

from __future__ import annotations

import csv
import io
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cldetl.display import shown
from cldetl.errors import InputError
from cldetl.national.allocator import give_back, one_allocator
from cldetl.national.alongside import Alongside
from cldetl.national.measures.ascof_2a import ascof_2a
from cldetl.national.measures.ascof_2bc import ascof_2bc
from cldetl.national.measures.ascof_2e import ascof_2e
from cldetl.national.measures.ascof_3d import ascof_3d
from cldetl.national.measures.persons import person_details
from cldetl.national.measures.result import Figure
from cldetl.national.measures.waiting_times import waiting_times
from cldetl.national.method import national_method
from cldetl.national.model import Preview
from cldetl.spec.population_bands import population_age_bands


@cache
def measures_method() -> dict[str, Any]:
    """national_measures.yaml: every list and threshold of the measures."""
    path = resources.files("cldetl").joinpath("spec/national_measures.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# Unique events from which the waiting times run in a forked child (below it, forking costs
# more than it saves).
ALONGSIDE_FROM = 100_000


@one_allocator()
def measures(
    p: Preview, population: dict[str, int] | None = None, alongside_from: int = ALONGSIDE_FROM
) -> list[Figure]:
    """Every figure the preview can compute; none when DHSC derives no period (the file would
    not be selected). `population`: ONS mid-year estimates by age band ('18 to 64', '65 and
    above'); without it 2B/2C are counts with no rate. `alongside_from`: unique events from
    which the waiting times are computed in a forked child (national/alongside.py)."""
    if p.reference_period is None or p.events is None:
        return []
    method = measures_method()
    year = p.reference_period
    events = with_person_details(p.events)
    give_back()  # after each whole-file step, as in the preview (allocator.py)
    dedup = national_method()["deduplication"]
    # The waiting times (the longest) in a forked child while the ASCOF measures run here,
    # on a large file; the figures are the same either way, in the same order.
    wait = partial(waiting_times, events, year, method)
    with Alongside(wait, fork=len(events) >= alongside_from) as waits:
        hierarchy = (dedup["outcome_hierarchy"], dedup["missing_hierarchy"])
        figures: list[Figure] = []
        for family, args in (
            (ascof_2a, (method, *hierarchy)),
            (ascof_2bc, (population, method)),
            (ascof_2e, (method,)),
            (ascof_3d, (method,)),
        ):
            figures += family(events, year, *args)
            give_back()  # each family's working copies go back before the next (allocator.py)
        figures += waits.result()
    people = p.events[["event_reference", "la_person"]].set_axis(
        pd.Index(p.events["line"].to_numpy(np.int64))
    )
    for f in figures:
        f.people = people
    return figures


# What the measures read of each unique event (the preview keeps more, for its own steps).
MEASURE_FIELDS = (
    "line",
    "person",
    "event_type",
    "Event Start Date",
    "der_end",
    "birth",
    "died",
    "Client Type",
    "Assessment Type",
    "Service Type",
    "Service Component",
    "Delivery Mechanism",
    "Event Outcome",
    "Accommodation Status",
    "Primary Support Reason",
)


def with_person_details(events: pd.DataFrame) -> pd.DataFrame:
    """The unique events with the person as a whole number (fast to group and match) and each
    person's birth date, date of death and primary support reason as DHSC's personal details
    table chooses them (persons.py: the earliest known birth month, the latest known death,
    the latest known reason) on every row (`person_birth`, `person_died`, `person_reason`).

    Only the fields the measures read, and the cleaned ones stay categories (a byte a row;
    as text they held ~665 MiB on a 1,000,000-row file): the measures compare them with
    `eq`/`isin`, which a category answers on its codes."""
    out = events[[c for c in MEASURE_FIELDS if c in events.columns]]
    codes, uniques = pd.factorize(out["person"])
    out = out.assign(person=codes)
    details = person_details(out, ["birth", "died", "Primary Support Reason"])
    at = details.index.get_indexer(np.arange(len(uniques)))
    found = at >= 0
    take = np.where(found, at, 0)[codes]
    missing = ~found[codes] if len(codes) else np.zeros(0, dtype=bool)
    for name, column in (
        ("birth", "birth"),
        ("died", "died"),
        ("reason", "Primary Support Reason"),
    ):
        values = details[column]
        picked = values.take(take) if len(values) else values.reindex(range(len(codes)))
        picked = picked.reset_index(drop=True)
        if missing.any():
            picked = picked.mask(missing)
        out[f"person_{name}"] = picked.set_axis(out.index)
    out["person_birth"] = pd.to_datetime(out["person_birth"])
    out["person_died"] = pd.to_datetime(out["person_died"])
    return out


__all__ = ["Figure", "measures", "measures_method", "read_population"]


def read_population(path: Path) -> dict[str, int]:
    """ONS mid-year estimates by age band from a CSV with columns age_band,population; a bad
    file is an InputError naming the line and what to fix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the population file ({exc.strerror}).") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"age_band", "population"} <= set(rows[0]):
        raise InputError(
            f"{path}: the population file needs the columns age_band,population "
            "(e.g. '18 to 64,250000')."
        )
    bands = population_age_bands()
    names = ", ".join(repr(b) for b in bands)
    out = {}
    for line, r in enumerate(rows, start=2):
        value = (r["population"] or "").replace(",", "").strip()
        if not value.isdigit() or int(value) == 0:
            raise InputError(
                f"{path}: line {line}, column population: {shown(value, 40)} is not a whole "
                "number of people; write it without decimals."
            )
        band = (r["age_band"] or "").strip()
        if band not in bands or band in out:
            what = "a second figure for" if band in out else "not an age band of the measures:"
            raise InputError(
                f"{path}: line {line}, column age_band: {what} {shown(band, 40)}; give one "
                f"row for each of {names}."
            )
        out[band] = int(value)
    missing = [b for b in bands if b not in out]
    if missing:
        raise InputError(
            f"{path}: no row for the age band {missing[0]!r}; give one row for each of {names}."
        )
    return out
