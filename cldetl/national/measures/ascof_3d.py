"""ASCOF 3D: people receiving self-directed support and direct payments, clients and carers.

Follows ASCOF_measures/Create_ASCOF_3D_2425_Onwards.sql (commit 69fe2e4; lists in
cldetl/spec/national_measures.yaml, `ascof_3d`):

Clients (1a, 2a), a snapshot at the year end: long term services of service users open at the
year end (started by it, not ended before it, not ended before they started), the person alive
then. A service component of Direct payment makes the delivery mechanism Direct payment; a
mechanism not listed for the service type reads as blank. Each person is placed in the highest
setting of the hierarchy (lowest number) and counted only if that is community support:
1a counts direct payments and managed personal budgets, 2a direct payments; under 18s out.

Carers (1b, 2b), during the year: events of unpaid carers in the year (requests signposted,
carer services, assessments and reviews without a service), each placed in its support
category, the person in the highest; the denominator is carers with direct payment, managed
budget or commissioned support only. A direct service with a blank component is in no category
unless its mechanism is a direct payment (the SQL's NOT LIKE is unknown for a NULL).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.choose import first_that_holds
from cldetl.national.measures.persons import whole_years
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
    "Delivery Mechanism",
    "Event Outcome",
    "person_birth",
    "person_died",
)


def _band(age: pd.Series) -> np.ndarray:
    return first_that_holds(
        [(age < 18).fillna(False), (age <= 64).fillna(False), (age >= 65).fillna(False)],
        ["Under 18", "18 to 64", "65 and above"],
        default="Unknown",
    )


def _pairs(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, list[tuple]]:
    """Each row's (first, second) as a code into the distinct pairs, a missing value a value
    of its own: what factorizing the pairs gives, without a tuple made for every row."""
    a, a_values = pd.factorize(first, use_na_sentinel=False)
    b, b_values = pd.factorize(second, use_na_sentinel=False)
    found, combined = pd.factorize(a.astype(np.int64) * len(b_values) + b)
    pairs = [(a_values[x // len(b_values)], b_values[x % len(b_values)]) for x in combined]
    return found, [(_plain(t), _plain(d)) for t, d in pairs]


def _plain(value):
    """A pair's value as the hierarchy's keys hold it (text; a missing one never matches)."""
    return None if pd.isna(value) else str(value)


def _figures(code, groups, people, counted_1, counted_2, rows, keep, why, m, labels):
    """Per group ('18 to 64', '65 and above', 'Total' over all bands incl. unknown): the
    numerator and denominator of parts 1 and 2 (Unknown is in the Total only). A record is
    counted when it is the one placing its person in the numerator (`keep`)."""
    out = []
    for part, counted, title in ((1, counted_1, labels[0]), (2, counted_2, labels[1])):
        for group in ("18 to 64", "65 and above", "Total"):
            chosen = people if group == "Total" else people[groups.reindex(people) == group]
            denominator = len(chosen)
            yes = counted[counted.astype(bool)].index
            numerator = int(chosen.isin(yes).sum())
            in_figure = keep & (rows["person"].isin(chosen) & rows["person"].isin(yes)).to_numpy()
            out.append(
                Figure(
                    measure=f"ASCOF 3D{part}{code}",
                    group=group,
                    title=title,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator, 100, m["places"]),
                    unit="%",
                    cite=m["cite"],
                    behind=records(rows, in_figure, why),
                )
            )
    return out


def ascof_3d(events: pd.DataFrame, year: tuple[date, date], method: dict) -> list[Figure]:
    m = method["ascof_3d"]
    start, end = (pd.Timestamp(d) for d in year)
    birth, died = events["person_birth"], events["person_died"]
    s, e = events["Event Start Date"], events["der_end"]
    stype = events["Service Type"]
    client_type = events["Client Type"]

    # Clients.
    clients = (
        stype.isin(m["client_service_types"]).fillna(False)
        & client_type.eq(m["client_type"]).fillna(False)
        & (s <= end).fillna(False)
        & (e.isna() | (e >= s).fillna(False))
        & (e.isna() | (e >= end).fillna(False))
        & (died.isna() | (died >= end).fillna(False))
    )
    rows = events.loc[
        clients.to_numpy(),
        ["line", "person", "Service Type", "Service Component", "Delivery Mechanism"],
    ]
    dp = m["direct_payment"]
    component = rows["Service Component"]
    delivery = rows["Delivery Mechanism"].astype(object).where(~component.eq(dp).fillna(False), dp)
    hierarchy = {(t, d): h for t, d, h in m["client_hierarchy"]}
    types = rows["Service Type"]
    # Each distinct (type, mechanism) looked up once.
    found, distinct = _pairs(types, delivery.fillna(""))
    listed = np.array([p in hierarchy for p in distinct], dtype=bool)[found]
    delivery = delivery.fillna("").where(listed, "")
    found, distinct = _pairs(types, delivery)
    rank = np.array([hierarchy.get(p, np.nan) for p in distinct] + [np.nan], dtype=float)[found]
    community = rows["Service Type"].eq(m["community"]).fillna(False).to_numpy()
    rank[community & component.eq(dp).fillna(False).to_numpy()] = 3
    best = pd.Series(rank, index=rows.index).groupby(rows["person"]).transform("min")
    top = rank == best.to_numpy()
    # The age at the year end of the clients only (not of every event).
    band = pd.Series(_band(whole_years(birth[clients], end)), index=rows.index)
    keep = top & community & (band != "Under 18").to_numpy()
    final = rows[keep]
    people = pd.Index(final["person"].unique())
    groups = pd.Series(band[keep].to_numpy(), index=final["person"]).groupby(level=0).first()
    is_dp = delivery[keep].eq(dp) | final["Service Component"].eq(dp).fillna(False)
    self_directed = is_dp | delivery[keep].eq(m["managed_budget"])
    counted_1 = self_directed.groupby(final["person"]).any()
    counted_2 = is_dp.groupby(final["person"]).any()
    why = first_that_holds(
        [~top, ~community, (band == "Under 18").to_numpy()],
        ["a higher setting counts for this person", "not community support", "under 18"],
        default="community support at the year end",
    )
    figures = _figures(
        "a", groups, people, counted_1, counted_2, rows, keep, why, m,
        ("Clients receiving self-directed support", "Clients receiving direct payments"),
    )  # fmt: skip

    # Carers (the clients' working columns let go first).
    del rows, final, delivery, component, types, found, distinct, listed, rank, community, best
    del top, band, keep, is_dp, self_directed, why
    outcome = events["Event Outcome"]
    carers = (
        client_type.isin(m["carer_client_types"]).fillna(False)
        & (s <= end).fillna(False)
        & (e.isna() | (e >= start).fillna(False))
        & (e.isna() | (e >= s).fillna(False))
        & (died.isna() | (died >= start).fillna(False))
        & (
            (stype.isna() & outcome.eq(m["information_outcome"]).fillna(False))
            | stype.isin([m["carer_direct"], m["carer_involving"]]).fillna(False)
            | (events["event_type"].isin(["Assessment", "Review"]).fillna(False) & stype.isna())
        )
    )
    rows = events.loc[
        carers.to_numpy(),
        ["line", "person", "Service Type", "Service Component", "Delivery Mechanism",
         "event_type", "Event Outcome"],
    ]  # fmt: skip
    direct = rows["Service Type"].eq(m["carer_direct"]).fillna(False)
    comp_dp = rows["Service Component"].eq(dp).fillna(False)
    mech = rows["Delivery Mechanism"]
    names = m["carer_hierarchy"]
    assessed = rows["event_type"].isin(["Assessment", "Review"]).fillna(False)
    informed = rows["Event Outcome"].eq(m["information_outcome"]).fillna(False)
    # #ASCOF_3D_Carers_Case: every branch after the first asks `Service_Component NOT LIKE
    # 'Direct payment'`, which is unknown (not true) for a blank component: such a row with no
    # direct payment mechanism falls through every branch, in no category (NULL, no rank).
    component_known = rows["Service Component"].notna()
    support = first_that_holds(
        [
            direct & (mech.eq(dp).fillna(False) | comp_dp),
            direct & component_known & mech.eq(m["managed_budget"]).fillna(False),
            direct & component_known & mech.eq("CASSR commissioned support").fillna(False),
            direct & component_known,
            rows["Service Type"].eq(m["carer_involving"]).fillna(False),
            assessed & ~informed,
            assessed & informed,
            rows["event_type"].eq("Request").fillna(False),
        ],
        [names[0], names[1], names[2], names[3], names[5], names[5], names[4], names[4]],
        default="",
    )
    order = {name: i for i, name in enumerate(names)}
    found, distinct = pd.factorize(support)
    rank = pd.Series(np.array([order.get(x, 99) for x in distinct] + [99])[found], index=rows.index)
    best = rank.groupby(rows["person"]).transform("min")
    top = (rank == best).to_numpy()
    min_age = whole_years(birth[carers], end).groupby(rows["person"]).transform("min")
    band = pd.Series(_band(min_age), index=rows.index)
    in_denominator = pd.Series(support, index=rows.index).isin(m["carer_denominator"])
    keep = top & (band != "Under 18").to_numpy() & in_denominator.to_numpy()
    final = rows[keep]
    people = pd.Index(final["person"].unique())
    groups = pd.Series(band[keep].to_numpy(), index=final["person"]).groupby(level=0).first()
    kept_support = pd.Series(support[keep], index=final.index)
    counted_1 = kept_support.isin(m["carer_self_directed"]).groupby(final["person"]).any()
    counted_2 = kept_support.eq(names[0]).groupby(final["person"]).any()
    why = first_that_holds(
        [~top, (band == "Under 18").to_numpy(), ~in_denominator.to_numpy()],
        ["higher support counts for this carer", "under 18", "support outside the measure"],
        default=pd.Series(support).to_numpy(),
    )
    figures += _figures(
        "b", groups, people, counted_1, counted_2, rows, keep, why, m,
        ("Carers receiving self-directed support", "Carers receiving direct payments"),
    )  # fmt: skip
    return figures
