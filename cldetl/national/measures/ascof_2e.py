"""ASCOF 2E: people in long-term support living in their own home or with family, with the
learning-disability 18-64 variant.

Follows ASCOF_measures/Create_ASCOF_2E_2425_Onwards.sql (commit 69fe2e4) and the person details
it reads (Create_personal_details_table.sql, commit 280a89f); lists in
cldetl/spec/national_measures.yaml, `ascof_2e`:

- cohort: long term services of service users during the year (started by its end, not ended
  before its start, not ended before they started);
- the person's accommodation: the latest known status over all their events (known first,
  then latest end, then latest start); a conflict on the latest date is Unknown; an unknown one
  is deduced from their latest service (nursing -> nursing home, residential -> care home,
  Shared Lives, extra care, supported living, prison; community home support -> "presumed at
  home", which counts as settled);
- age at the end of their latest service capped at the year end; 18 and over or unknown; the
  person alive at the year start; the LD variant keeps Learning disability support, 18-64;
- numerator: settled accommodation; denominator: everyone in a known band.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.choose import first_that_holds
from cldetl.national.measures.persons import FAR, whole_years
from cldetl.national.measures.result import Figure, ratio, records

# The columns of the unique events (with the person details) this measure reads:
# measures() opens only these for it.
READS = (
    "line",
    "person",
    "event_type",
    "Event Start Date",
    "der_end",
    "Client Type",
    "Service Type",
    "Service Component",
    "person_birth",
    "person_died",
    "person_reason",
    "person_accommodation",
)


def _deduced(events: pd.DataFrame, people: pd.Index, m: dict) -> pd.Series:
    """Accommodation deduced from each person's latest service (person details script)."""
    d = m["deduced"]
    theirs = events["event_type"].eq("Service").fillna(False) & events["person"].isin(people)
    services = events.loc[
        theirs.to_numpy(),
        ["person", "der_end", "Service Type", "Service Component", "Event Start Date"],
    ]
    del theirs
    order = {t: i + 1 for i, t in enumerate(m["service_type_order"])}
    frame = pd.DataFrame(
        {
            "person": services["person"].to_numpy(),
            "end": services["der_end"].fillna(FAR).to_numpy(),
            "type_rank": services["Service Type"].map(lambda t: order.get(t, 99)).to_numpy(),
            "telling": services["Service Component"].isin(m["telling_components"]).to_numpy(),
            "start": services["Event Start Date"].to_numpy(),
            "type": services["Service Type"].to_numpy(),
            "component": services["Service Component"].to_numpy(),
        }
    )
    del services
    keys = ["end", "type_rank", "telling", "start"]
    frame = frame.sort_values(["person", *keys], ascending=[True, False, True, False, False])
    top = frame.groupby("person", sort=False)[keys].transform("first")
    tied = frame[(frame[keys] == top).all(axis=1)].copy()
    tied["type"] = tied["type"].where(tied["type_rank"] != 99)
    tied["component"] = tied["component"].where(tied["telling"])

    grouped = tied.groupby("person")
    # One known value among the tied rows, else none (COUNT(DISTINCT ...) = 1).
    kind = grouped["type"].first().where(grouped["type"].nunique() == 1)
    component = grouped["component"].first().where(grouped["component"].nunique() == 1)
    community = kind.eq(d["community"])
    out = pd.Series(
        first_that_holds(
            [
                kind.isin(list(d["by_type"])),
                component.isin(list(d["by_component"])),
                community & component.eq(d["community_home_support"]),
                community & component.isna(),
            ],
            [
                kind.map(d["by_type"]).astype(object),
                component.map(d["by_component"]).astype(object),
                d["presumed_at_home"],
                d["presumed_in_community"],
            ],
            default="Unknown",
        ),
        index=kind.index,
        dtype=object,
    )
    return out


def accommodation(rows: pd.DataFrame, events: pd.DataFrame, m: dict) -> pd.Series:
    """The accommodation status of each row's person: their latest known status (the person
    details' `person_accommodation`, 2E's unknown statuses read as unknown), else deduced from
    their latest service among all their events, else Unknown."""
    known = rows["person_accommodation"]
    unknown = pd.Index(pd.unique(rows["person"].to_numpy()[known.isna().to_numpy()]))
    deduced = _deduced(events, unknown, m) if len(unknown) else pd.Series(dtype=object)
    return known.astype(object).fillna(rows["person"].map(deduced)).fillna("Unknown")


def ascof_2e(events: pd.DataFrame, year: tuple[date, date], method: dict) -> list[Figure]:
    m = method["ascof_2e"]
    start, end = (pd.Timestamp(d) for d in year)
    s, e = events["Event Start Date"], events["der_end"]
    build = (
        events["Client Type"].eq(m["client_type"]).fillna(False)
        & events["event_type"].eq("Service").fillna(False)
        & events["Service Type"].isin(m["service_types"]).fillna(False)
        & s.notna()
        & (e.isna() | (e >= s).fillna(False))
        & (s <= end).fillna(False)
        & (e.isna() | (e >= start).fillna(False))
    )
    used = ["line", "person", "der_end", "person_birth", "person_died", "person_reason",
            "person_accommodation"]  # fmt: skip
    rows = events.loc[build, used]
    capped = rows["der_end"].fillna(FAR).clip(upper=end)
    person_end = capped.groupby(rows["person"]).transform("max")
    birth, died, reason = rows["person_birth"], rows["person_died"], rows["person_reason"]
    age = whole_years(birth, person_end)
    band = pd.Series(
        first_that_holds(
            [
                ((age >= 1) & (age <= 17)).fillna(False),
                ((age >= 18) & (age <= 64)).fillna(False),
                (age >= 65).fillna(False),
            ],
            ["Under 18", "18 to 64", "65 and above"],
            default="Unknown",
        ),
        index=rows.index,
    )
    alive = (died.isna() | (died >= start).fillna(False)).to_numpy()
    adult = (age.isna() | (age >= 18).fillna(False)).to_numpy()
    status = accommodation(rows, events, m) if len(rows) else rows["person"]
    settled = status.isin(m["settled"]).fillna(False)
    ld = reason.eq(m["ld_support_reason"]).fillna(False).to_numpy()
    # "settled: <status>" / "not settled: <status>", made once per distinct status.
    found, statuses = pd.factorize(status.astype(object).fillna("Unknown"))
    labels = np.array(
        [("settled: " if x in m["settled"] else "not settled: ") + str(x) for x in statuses],
        dtype=object,
    )
    described = labels[found] if len(found) else np.array([], dtype=object)
    figures = []
    variants = [
        ("ASCOF 2E", "18 to 64", None),
        ("ASCOF 2E", "65 and above", None),
        ("ASCOF 2E LD", m["ld_band"], m["ld_support_reason"]),
    ]
    for measure, group, psr in variants:
        cohort = alive & adult & (band == group).to_numpy()
        if psr:
            cohort &= ld
        people = pd.Index(rows["person"][cohort].unique())
        yes = pd.Index(rows["person"][cohort & settled.to_numpy()].unique())
        why = first_that_holds(
            [~alive, ~adult, (band != group).to_numpy(), ~ld if psr else np.zeros(len(rows), bool)],
            ["died before the year", "under 18", f"not {group}", "not learning disability"],
            default=described,
        )
        figures.append(
            Figure(
                measure=measure,
                group=group,
                title=m["title"],
                numerator=len(yes),
                denominator=len(people),
                value=ratio(len(yes), len(people), 100, m["places"]),
                unit="%",
                cite=m["cite"],
                behind=records(rows, cohort & settled.to_numpy(), why),
            )
        )
    return figures
