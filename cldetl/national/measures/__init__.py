"""The measures DHSC publishes from CLD, computed from the file before it is submitted.

One module per measure, each following DHSC's ASCOF_measures/ SQL, and the waiting times
following Waiting_times/ (lists in cldetl/spec/national_measures.yaml). They run on the
preview's unique events (after DHSC's period filter and deduplication), over the derived
reporting period as the measure year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
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
from cldetl.national.compact import PackedFrame
from cldetl.national.measures.ascof_2a import READS as ASCOF_2A_READS
from cldetl.national.measures.ascof_2a import ascof_2a
from cldetl.national.measures.ascof_2bc import READS as ASCOF_2BC_READS
from cldetl.national.measures.ascof_2bc import ascof_2bc
from cldetl.national.measures.ascof_2e import READS as ASCOF_2E_READS
from cldetl.national.measures.ascof_2e import ascof_2e
from cldetl.national.measures.ascof_3d import READS as ASCOF_3D_READS
from cldetl.national.measures.ascof_3d import ascof_3d
from cldetl.national.measures.persons import person_details
from cldetl.national.measures.result import Figure
from cldetl.national.measures.waiting_times import READS as WAITING_READS
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
    # The person details (the person as a number, their birth, death, reason, accommodation)
    # computed once and packed beside the unique events; each measure then opens only the
    # columns it reads (READS in its module) and lets them go when it is done.
    details = PackedFrame(dict(with_person_details(p.events).items()))
    give_back()  # after each whole-file step, as in the preview (allocator.py)
    dedup = national_method()["deduplication"]
    # The waiting times (the longest) in a forked child while the ASCOF measures run here,
    # on a large file; the figures are the same either way, in the same order.
    wait = partial(_measured, waiting_times, WAITING_READS, p.events, details, year, method)
    with Alongside(wait, fork=len(p.events) >= alongside_from) as waits:
        hierarchy = (dedup["outcome_hierarchy"], dedup["missing_hierarchy"])
        figures: list[Figure] = []
        for family, reads, args in (
            (ascof_2a, ASCOF_2A_READS, (method, *hierarchy)),
            (ascof_2bc, ASCOF_2BC_READS, (population, method)),
            (ascof_2e, ASCOF_2E_READS, (method,)),
            (ascof_3d, ASCOF_3D_READS, (method,)),
        ):
            figures += _measured(family, reads, p.events, details, year, *args)
            give_back()  # each family's working copies go back before the next (allocator.py)
        figures += waits.result()
    people = _people(p)
    for f in figures:
        f.people = people
    return figures


def _measured(
    family: Callable[..., list[Figure]],
    reads: tuple[str, ...],
    events: PackedFrame,
    details: PackedFrame,
    *args: Any,
) -> list[Figure]:
    """One measure's figures from the columns it reads, opened for it alone (the person
    details' own columns, `person` among them, from `details`)."""
    opened = {name: (details if name in details else events)[name] for name in reads}
    frame = pd.concat(list(opened.values()), axis=1, keys=list(opened))
    del opened
    return family(frame, *args)


def _people(p: Preview) -> pd.DataFrame:
    """Each unique event's Event Reference and LA person ID by line, the records' own columns
    (one table, shared by every figure). The Event Reference is the fates' (every row of the
    file has one, in line order): the unique events do not hold a second copy of it."""
    lines = p.events["line"].to_numpy(np.int64)
    every = p.packed_fates["line"].to_numpy(np.int64)
    at = np.searchsorted(every, lines)
    return pd.DataFrame(
        {
            "event_reference": p.packed_fates["event_reference"].array.take(at),
            "la_person": p.events["la_person"].array,
        },
        index=pd.Index(lines),
        copy=False,
    )


# The person details table's columns (Create_personal_details_table.sql) the measures read,
# each put on every row as `person_<name>`.
PERSON_DETAILS = {
    "birth": "birth",
    "died": "died",
    "reason": "Primary Support Reason",
    "accommodation": "Accommodation Status",
}
DETAIL_COLUMNS = ("person", *(f"person_{name}" for name in PERSON_DETAILS))
# What with_person_details reads of each unique event (persons.person_details: the person,
# the dates it ranks by, each detail's column).
PERSON_READS = ("person", "Event Start Date", "der_end", *PERSON_DETAILS.values())
# What the measures read of each unique event (the preview keeps these, and a few more for its
# own steps): what each measure reads (READS in its module) and with_person_details reads.
MEASURE_FIELDS = tuple(
    dict.fromkeys(
        name
        for reads in (
            ASCOF_2A_READS,
            ASCOF_2BC_READS,
            ASCOF_2E_READS,
            ASCOF_3D_READS,
            WAITING_READS,
            PERSON_READS,
        )  # fmt: skip
        for name in reads
        if name not in DETAIL_COLUMNS[1:]
    )
)


def with_person_details(events: pd.DataFrame | PackedFrame) -> pd.DataFrame:
    """The person as a whole number (fast to group and match) and each person's birth date,
    date of death, primary support reason and accommodation status as DHSC's personal details
    table chooses them (persons.py: the earliest known birth month, the latest known death,
    the latest known reason and status, 2E's unknown statuses read as unknown), on every row
    of `events`: DETAIL_COLUMNS (`person`, `person_birth`, `person_died`, `person_reason`,
    `person_accommodation`), numbered from 0, computed once for every measure. `events`
    packed (the preview's): each column is opened only while it is read.

    The reason and status stay categories (a byte a row; as text the measures' columns held
    ~665 MiB on a 1,000,000-row file): the measures compare them with `eq`/`isin`, which a
    category answers on its codes."""
    codes, uniques = pd.factorize(events["person"])
    unknown_status = {"Accommodation Status": measures_method()["ascof_2e"]["unknown"]}
    details = person_details(events, list(PERSON_DETAILS.values()), unknown_status, codes)
    at = details.index.get_indexer(np.arange(len(uniques)))
    # One slot past the persons, never found, for the rows with no person: their code, -1,
    # picks the last slot (without it, the last person's details; with no person at all, none).
    found = np.append(at >= 0, False)
    take = np.append(np.where(found[:-1], at, 0), 0)[codes]
    missing = ~found[codes]
    out = pd.DataFrame({"person": codes})
    for name, column in PERSON_DETAILS.items():
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
