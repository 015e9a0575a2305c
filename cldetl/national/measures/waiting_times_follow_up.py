"""Stage 3 of DHSC's waiting times (Waiting_times/waiting_times_method.sql v1.1, 9bee728):
what answers each request, and which requests overlap an earlier one's follow-up.

3.1 (lines 377-406): a request starting before 1 July 2025 ('R1') that indicates progress and
    starts before its next assessment (or has none) is its own first response when DHSC's
    `Der_Conversation` flag is 1. No public file derives that flag, so each such request is
    followed both ways (flag 0 and flag 1).
3.2 (lines 408-435): a service before the first response (or when there is none) is the first
    response.
3.3 (lines 437-448): when the first response is an assessment whose block (the run of
    consecutive assessments it starts) does not progress to a service, part 2 has no service.
3.4 (lines 451-488): a request is left out when the previous request's follow-up (LAG of
    GREATEST(response, service), NULLs ignored) comes after it, or its response or service is
    no later than any earlier request's (running MAX, COALESCE 0).

Since an earlier request's flag moves the orders 3.4 compares, a request is settled only when
every choice of the unknown flags of itself and its person's earlier requests gives it the same
result in a part: left out, or the same wait, quarter and band. Each pair of a request and an
earlier request of the same person is compared once (a person's requests are few).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Outcomes:
    """One part's result per linked request (arrays in the linked requests' order)."""

    known: np.ndarray  # the same whatever DHSC's conversation flags are
    excluded: np.ndarray  # left out by stage 3.4
    sensitive: np.ndarray  # its own flag may change its first response (stage 3.1)
    days: np.ndarray  # DATEDIFF(DAY, request start, response or service start)
    start: np.ndarray  # the response's or service's start (its quarter groups the median)
    band: np.ndarray  # the response's or service's age band
    missing: np.ndarray  # why there is no response or service


def follow_up(linked: pd.DataFrame, m: dict) -> dict[str, Outcomes]:
    """Per part ('part1', 'part2'), each linked request's settled result."""
    before = pd.Timestamp(m["conversation_before"])
    r1 = (linked["start"] < before).to_numpy()
    asmt_start = linked["asmt_start"].to_numpy()
    sensitive = (
        r1
        & linked["progress"].to_numpy()
        & (pd.isna(asmt_start) | (linked["start"].to_numpy() < asmt_start))
    )
    flag0 = _responses(linked, np.zeros(len(linked), dtype=bool))
    flag1 = _responses(linked, sensitive)
    keep, drop = _overlaps(linked, flag0, flag1)
    out = {}
    for part, start, band, missing in (
        ("part1", "resp_start", "resp_band", "resp_missing"),
        ("part2", "srv_start", "srv_band", "srv_missing"),
    ):
        days = [
            (pd.to_datetime(v[start]) - pd.to_datetime(linked["start"])).dt.days.to_numpy(float)
            for v in (flag0, flag1)
        ]
        same = (
            _same(days[0], days[1])
            & _same(flag0[start], flag1[start])
            & _same(flag0[band], flag1[band])
        )
        excluded_any = drop[0] | drop[1]
        kept_any = keep[0] | keep[1]
        # Never left out means kept with either flag (a request not kept has an earlier one
        # with no passing choice, which is a failing one): then both must agree.
        known = (excluded_any & ~kept_any) | (~excluded_any & same)
        # A settled result is the same with either flag: flag 0's (a request left out either
        # way has none).
        out[part] = Outcomes(
            known, excluded_any & ~kept_any, sensitive, days[0], flag0[start].to_numpy(),
            flag0[band].to_numpy(), flag0[missing].to_numpy(),
        )  # fmt: skip
    return out


def _same(a, b) -> np.ndarray:
    a, b = pd.Series(a), pd.Series(b)
    return ((a == b) | (a.isna() & b.isna())).to_numpy()


def _responses(linked: pd.DataFrame, override: np.ndarray) -> pd.DataFrame:
    """Stages 3.1-3.3 with the conversation override where `override`."""
    asmt = linked["asmt_order"].to_numpy()
    temp_order = np.where(override, linked["order"], asmt)
    temp_start = np.where(override, linked["start"], linked["asmt_start"])
    temp_band = np.where(override, linked["band"], linked["asmt_band"])
    temp_kind = np.where(override, "Request", np.where(np.isnan(asmt), None, "Assessment"))
    temp_block = np.where(override, np.nan, linked["asmt_block"].to_numpy(float))
    srv = linked["srv_order"].to_numpy()
    # 3.2: NULL comparisons are false, as in SQL.
    by_service = (temp_order > srv) | (np.isnan(temp_order) & ~np.isnan(srv))
    kind = np.where(by_service, "Service", temp_kind)
    block = np.where(by_service, np.nan, temp_block)
    no_progress = (kind == "Assessment") & (block == 0)  # 3.3
    missing_service = np.where(
        no_progress,
        "the assessments answering the request did not progress to a service (stage 3.3)",
        "no service after the request",
    )
    return pd.DataFrame(
        {
            "resp_order": np.where(by_service, srv, temp_order),
            "resp_start": np.where(by_service, linked["srv_start"], temp_start),
            "resp_band": np.where(by_service, linked["srv_band"], temp_band),
            "resp_missing": "no assessment or service after the request",
            "srv_order": np.where(no_progress, np.nan, srv),
            "srv_start": np.where(no_progress, np.datetime64("NaT"), linked["srv_start"]),
            "srv_band": np.where(no_progress, None, linked["srv_band"]),
            "srv_missing": missing_service,
        }
    )


def _overlaps(linked, flag0, flag1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Stage 3.4 for each of a request's own flags (index 0, 1): whether some choice of the
    earlier requests' flags keeps it (`keep`), and whether some choice leaves it out (`drop`).
    Earlier request i passes for request j when its response and service come before j's
    (NULLs pass) and, for the previous request, GREATEST(its response, service) is not after
    j; j is kept when every earlier request has a passing choice, left out when any has a
    failing one."""
    n = len(linked)
    rank = linked.groupby("person").cumcount().to_numpy()
    people = pd.DataFrame({"person": linked["person"].to_numpy(), "i": np.arange(n), "rank": rank})
    pairs = people.merge(people, on="person", suffixes=("_i", "_j"))
    pairs = pairs[pairs["rank_i"] < pairs["rank_j"]]
    i, j = pairs["i_i"].to_numpy(), pairs["i_j"].to_numpy()
    previous = (pairs["rank_i"] + 1 == pairs["rank_j"]).to_numpy()
    o = linked["order"].to_numpy()[j]
    keep, drop = [], []
    for own in (flag0, flag1):
        a, s = own["resp_order"].to_numpy()[j], own["srv_order"].to_numpy()[j]
        passes = []
        for theirs in (flag0, flag1):
            ai, si = theirs["resp_order"].to_numpy()[i], theirs["srv_order"].to_numpy()[i]
            gi = np.fmax(ai, si)  # GREATEST ignores NULLs
            passes.append(
                ~(ai >= a)  # NaN comparisons are false: a NULL passes
                & ~(si >= s)
                & ~(previous & (gi > o))
            )
        some = pd.Series(passes[0] | passes[1]).groupby(j).all()
        every = pd.Series(passes[0] & passes[1]).groupby(j).all()
        keep.append(some.reindex(range(n), fill_value=True).to_numpy(bool))
        drop.append(~every.reindex(range(n), fill_value=True).to_numpy(bool))
    return keep, drop
