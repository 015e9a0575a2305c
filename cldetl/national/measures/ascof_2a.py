"""ASCOF 2A: short-term support (reablement) for new clients, and what followed within 7 days.

Follows ASCOF_measures/Create_ASCOF_2A_2425_Onwards.sql (DataS-DHSC/ASC-CLD-LA-Dashboard,
commit 7396fab; every list and threshold in national_measures.yaml `ascof_2a`):

Section 1. Service users' events with a start date and no end before the start (open events
end 9999-01-01). Each person's ST-Max services, ordered by start, end, outcome hierarchy and
latest record, form clusters: one starting within 7 days of the latest earlier end joins it.
A cluster's outcome is its latest-ending row's (then the highest outcome, then the latest
record). Clusters ending in the year count, of people 18 or over at the cluster's end (or of
unknown age) who had not died before it started, and only new clients: no long-term support
that started before the cluster and ended fewer than 91 days before it, or is open.

Section 2. Each cluster's sequel, the first of: 1 died within 7 days of the end; 2 outcome
'Admitted to hospital'; 3 the highest service (by the service hierarchy) starting during or
within 7 days after the cluster and ending after it, events after a later ST-Max left out;
4 the highest usable outcome (hierarchy under 100) of the cluster, of the non-service events
in that window, or of the latest assessment or review ending inside the cluster fewer than 14
days before its end; 5 equipment delivered during the cluster; 6 the cluster's own outcome.
The figure: clusters whose sequel is in the numerator list over those in the denominator list,
by age band at the cluster's end and in total.

The outcome hierarchy is DHSC's Event_Outcome_Hierarchy (national.yaml `outcome_hierarchy`):
the SQL reads its Release 1 twin (REF_Event_Outcome_Hierarchy_R1), which is not public; the
two order the outcomes the same way once each Release 1 value is read as its Release 2 pair,
and only that order decides a sequel. The preview sees only this file: long-term support that
ended before the period (dropped by DHSC's period filter, and by the preview's) is not seen
when deciding who is a new client, where DHSC reads 15 months of joined submissions.
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
    "Event Outcome",
    "person_birth",
    "person_died",
)

INVALID = "Invalid and not mapped"


def _build(events: pd.DataFrame, m: dict, hierarchy: list[str], missing: int) -> pd.DataFrame:
    """#ASCOF2A_Build: the events the measure reads, with the penalised outcome hierarchy."""
    s, e = events["Event Start Date"], events["der_end"]
    keep = (
        events["Client Type"].eq(m["client_type"]).fillna(False)
        & s.notna()
        & (e.isna() | (e >= s).fillna(False))
    ).to_numpy()
    # Only people with an ST-Max service are ever read (every later step joins on the person).
    st_max = keep & (events["event_type"].eq("Service") & events["Service Type"].eq(m["st_max"]))
    keep = keep & events["person"].isin(events["person"][st_max.to_numpy()]).to_numpy()
    rows = events[keep]
    outcome = rows["Event Outcome"].astype(object).where(rows["Event Outcome"].notna(), INVALID)
    order = {v: i + 1 for i, v in enumerate(hierarchy)}
    rank = outcome.map(lambda v: order.get(v, missing)).astype(np.int64)
    rank = rank.where(~outcome.isin(m["unusable_outcomes"]) | rank.eq(missing), rank + 100)
    return pd.DataFrame(
        {
            "line": rows["line"].to_numpy(np.int64),
            "person": rows["person"].to_numpy(),
            "type": rows["event_type"].astype(object).to_numpy(),
            "service": rows["Service Type"].astype(object).to_numpy(),
            "component": rows["Service Component"].astype(object).to_numpy(),
            "outcome": outcome.to_numpy(),
            "rank": rank.to_numpy(),
            "start": rows["Event Start Date"].to_numpy(),
            "end": rows["der_end"].fillna(FAR).to_numpy(),
            "birth": rows["person_birth"].to_numpy(),
            "died": rows["person_died"].to_numpy(),
        }
    )


def _clusters(build: pd.DataFrame, m: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ST-Max rows with their cluster, and one row per cluster (#ST_Max_Clusters)."""
    st = build[(build["type"] == "Service") & (build["service"] == m["st_max"])]
    st = st.sort_values(
        ["person", "start", "end", "rank", "line"], ascending=[True, True, True, True, False]
    ).reset_index(drop=True)
    same_person = st["person"].eq(st["person"].shift())
    previous_end = st.groupby("person", sort=False)["end"].cummax().shift().where(same_person)
    gap = (st["start"] - previous_end).dt.days
    st["cluster"] = (~(gap <= m["cluster_gap_days"]).fillna(False)).cumsum()
    last = st.sort_values(["cluster", "end", "rank", "line"], ascending=[True, False, True, False])
    last = last.drop_duplicates("cluster").set_index("cluster")
    grouped = st.groupby("cluster")
    clusters = pd.DataFrame(
        {
            "person": last["person"],
            "cstart": grouped["start"].min(),
            "cend": grouped["end"].max(),
            "coutcome": last["outcome"],
            "crank": last["rank"],
            "birth": last["birth"],
            "died": last["died"],
        }
    )
    return st, clusters


def _sequels(clusters: pd.DataFrame, build: pd.DataFrame, m: dict, labels: dict) -> pd.DataFrame:
    """Section 2: (final outcome, sequel step) per new-client cluster."""
    final = pd.Series(pd.NA, index=clusters.index, dtype=object)
    step = pd.Series(pd.NA, index=clusters.index, dtype=object)

    def stage(which: pd.Series, outcome, number: str) -> None:
        """Clusters `which` not yet staged get `outcome` (one, or per cluster) at this step."""
        chosen = which.reindex(clusters.index, fill_value=False).astype(bool) & final.isna()
        if isinstance(outcome, pd.Series):
            outcome = outcome.reindex(clusters.index)[chosen]
        final[chosen] = outcome
        step[chosen] = number

    days = m["sequel_days"]
    stage(((clusters["died"] - clusters["cend"]).dt.days <= days).fillna(False), m["deceased"], "1")
    stage(clusters["coutcome"].eq(m["hospital"]), clusters["coutcome"], "2")

    # Every other event of the person beside each cluster (the cluster's own ST-Max rows out).
    joined = clusters[["person", "cstart", "cend", "crank"]].reset_index().merge(build, on="person")
    own = (
        joined["start"].between(joined["cstart"], joined["cend"])
        & joined["type"].eq("Service")
        & joined["service"].eq(m["st_max"])
    )
    joined = joined[~own]
    open_ = final.isna()
    after = joined[
        joined["cluster"].map(open_)
        & (joined["start"] >= joined["cstart"])
        & (joined["end"] > joined["cend"])
        & ((joined["start"] - joined["cend"]).dt.days <= days)
    ]
    # Events from a later ST-Max in the window on are left out (#Has_Future_Events_In_Window).
    later_st = after[after["service"].eq(m["st_max"])].groupby("cluster")["start"].min()
    first_st = pd.Series(later_st.reindex(after["cluster"]).to_numpy(), index=after.index)
    window = after[~(after["start"] >= first_st).fillna(False).to_numpy()]
    hierarchy = {t: i + 1 for i, t in enumerate(m["service_hierarchy"])}
    services = window.assign(
        level=window["service"].map(hierarchy).fillna(99),
        preferred=~window["component"].isin(m["residential_or_nursing_components"]),
    )
    services = services[services["level"] != 99].sort_values(["cluster", "level", "preferred"])
    top = services.drop_duplicates("cluster").set_index("cluster")
    residential = top["service"].eq(m["other_short_term"]) & ~top["preferred"]
    outcome = top["service"].where(~residential, m["residential_or_nursing"])
    stage(pd.Series(True, index=top.index), outcome, "3")

    # Step 4: the highest usable outcome of the cluster, later non-service events, nested
    # assessments and reviews; source 1, 2, 3 in that order on a tie.
    open_ = final.isna()
    usable = m["unusable_penalty"]
    in_window = set(window["cluster"])
    alone = clusters.index[
        open_ & ~clusters.index.isin(in_window) & (clusters["crank"] < usable)
    ].to_numpy()
    later = window[
        window["cluster"].map(open_)
        & ((window["crank"] < usable) | (window["rank"] < usable))
        & window["outcome"].ne(m["not_a_sequel"])
        & window["type"].notna()
        & window["type"].ne("Service")
    ]
    nested = joined[
        joined["cluster"].map(open_)
        & (joined["start"] >= joined["cstart"])
        & (joined["end"] > joined["cstart"])
        & (joined["end"] <= joined["cend"])
    ]
    reviews = nested[
        nested["type"].isin(m["nested_types"])
        & ((nested["cend"] - nested["end"]).dt.days < m["nested_days"])
        & (nested["rank"] < usable)
    ]
    reviews = reviews.sort_values(
        ["cluster", "end", "rank", "line"], ascending=[True, False, True, False]
    )
    sources = pd.concat(
        [
            pd.DataFrame({"cluster": later["cluster"].unique(), "source": 1}).assign(
                rank=lambda f: f["cluster"].map(clusters["crank"])
            ),
            pd.DataFrame({"cluster": later["cluster"], "rank": later["rank"], "source": 2}),
            reviews.drop_duplicates("cluster")[["cluster", "rank"]].assign(source=3),
            pd.DataFrame({"cluster": alone, "source": 1}).assign(
                rank=lambda f: f["cluster"].map(clusters["crank"])
            ),
        ],
        ignore_index=True,
    )
    best = sources.sort_values(["cluster", "rank", "source"]).drop_duplicates("cluster")
    best = best.set_index("cluster")
    stage(
        pd.Series(True, index=best.index),
        best["rank"].map(labels).fillna(INVALID),
        "4",
    )
    step[step.eq("4")] = (
        best["source"].reindex(step.index)[step.eq("4")].map({1: "4a", 2: "4b", 3: "4c"})
    )
    # Step 5: equipment during the cluster; step 6: the cluster's own outcome.
    equipment = nested[nested["type"].eq("Service") & nested["component"].eq(m["equipment"])]
    stage(
        pd.Series(True, index=pd.Index(equipment["cluster"].unique())), m["equipment_outcome"], "5"
    )
    stage(pd.Series(True, index=clusters.index), clusters["coutcome"], "6")
    return pd.DataFrame({"final": final, "step": step})


def ascof_2a(
    events: pd.DataFrame, year: tuple[date, date], method: dict, hierarchy: list[str], missing: int
) -> list[Figure]:
    """The three 2A figures (18 to 64, 65 and above, total), one record per ST-Max row of each
    cluster ending in the year."""
    m = method["ascof_2a"]
    start, end = (pd.Timestamp(d) for d in year)
    build = _build(events, m, hierarchy, missing)
    st, clusters = _clusters(build, m)
    clusters = clusters[(clusters["cend"] >= start) & (clusters["cend"] <= end)]
    age = whole_years(clusters["birth"], clusters["cend"])
    adult = (age >= 18).fillna(False) | clusters["birth"].isna()
    alive = (clusters["died"] >= clusters["cstart"]).fillna(False) | clusters["died"].isna()
    band = pd.Series(
        first_that_holds(
            [(age <= 64).fillna(False), (age >= 65).fillna(False)],
            ["18 to 64", "65 and above"],
            default="Unknown",
        ),
        index=clusters.index,
    )
    counted = clusters[adult & alive]
    joined = counted[["person", "cstart"]].reset_index().merge(build, on="person")
    long_term = joined[
        joined["service"].isin(m["long_term"])
        & (joined["start"] < joined["cstart"])
        & ((joined["cstart"] - joined["end"]).dt.days < m["new_client_days"])
    ]
    new = counted[~counted.index.isin(long_term["cluster"])]
    labels = {i + 1: v for i, v in enumerate(hierarchy)}
    sequel = _sequels(new, build, m, labels)
    in_den = sequel["final"].isin(m["denominator"])
    in_num = sequel["final"].isin(m["numerator"])
    why = pd.Series("", index=clusters.index, dtype=object)
    why[~alive] = "died before the reablement started"
    why[~adult] = "under 18 at the end of the reablement"
    why[why.eq("") & ~clusters.index.isin(new.index)] = (
        f"not a new client: long-term support within {m['new_client_days']} days before"
    )
    place = np.where(in_num, "numerator", np.where(in_den, "denominator only", "neither"))
    why[sequel.index] = ("sequel " + sequel["step"].astype(str) + ": " + sequel["final"].astype(str)
                         + " (" + place + ")")  # fmt: skip
    rows = st[st["cluster"].isin(clusters.index)]
    cluster_of = rows["cluster"].to_numpy()
    figures = []
    for group in m["groups"]:
        mine = band.eq(group) if group != "Total" else pd.Series(True, index=band.index)
        num = int((in_num & mine.reindex(sequel.index)).sum())
        den = int((in_den & mine.reindex(sequel.index)).sum())
        yes = set(sequel.index[in_num & mine.reindex(sequel.index)])
        reason = np.where(
            mine.reindex(cluster_of).to_numpy(), why.reindex(cluster_of), f"not {group}"
        )
        figures.append(
            Figure(
                measure="ASCOF 2A",
                group=group,
                title=m["title"],
                numerator=num,
                denominator=den,
                value=ratio(num, den, 100, m["places"]),
                unit="%",
                cite=m["cite"],
                behind=records(rows, np.isin(cluster_of, list(yes)), reason),
            )
        )
    return figures
