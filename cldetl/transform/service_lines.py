"""Service lines into CLD service events (guidance, Events (Services only), "Clarification to
guidance").

Many systems restart a service line when a financial uplift or a provider location change
happens. Lines of one service that follow on are chained: with `original_start` the chain is
one row from its original start (the latest line's cost and details, the guidance's option 1);
with `keep_lines` each line stays a row (option 2). Suspended lines count as open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.transform.filters import as_text, matches
from cldetl.transform.sources import KEY, POSITION

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import ServiceLines

# Positions of the source records an event is made of: a list for chained service lines, a
# single position otherwise (explode() passes scalars through).
MEMBERS = "_members"
MEMBER_KEYS = "_member_keys"  # their keys, for lineage


def chain_service_lines(lines: pd.DataFrame, rule: ServiceLines) -> pd.DataFrame:
    """One row per service event; `_members` lists the source positions it came from."""

    frame = lines.copy()
    if rule.suspended is not None:
        suspended = matches(rule.suspended, frame)
        frame.loc[suspended, rule.end] = pd.NaT
    if rule.split_lines == "keep_lines" or frame.empty:
        frame[MEMBERS] = frame[POSITION]
        frame[MEMBER_KEYS] = frame[KEY]
        return frame

    same = [as_text(frame[c]) for c in rule.same_service]
    group = pd.Series(pd.util.hash_pandas_object(pd.concat(same, axis=1), index=False).to_numpy())
    # Only the columns chaining reads are sorted; whole rows are taken once, for the latest
    # line of each chain.
    needed = [rule.start, rule.order_by or rule.start, rule.end, POSITION, KEY]
    needed += ["_reference_base"] if "_reference_base" in frame else []
    narrow = frame[list(dict.fromkeys(needed))].assign(
        _group=group.to_numpy(), _row=np.arange(len(frame))
    )
    order = narrow.sort_values(
        ["_group", rule.start, rule.order_by or rule.start, POSITION], kind="stable"
    )
    start, end = order[rule.start], order[rule.end]
    same_group = order["_group"].eq(order["_group"].shift())
    previous_end = end.shift()
    # A chain continues while the previous line was closed and this one starts within the gap.
    running_open = previous_end.isna() & same_group
    gap = pd.Timedelta(days=rule.max_gap_days)
    follows_on = same_group & (start <= previous_end + gap).fillna(False)
    follows_on |= running_open & same_group
    chain = (~follows_on).cumsum().to_numpy()
    order = order.assign(_chain=chain)

    grouped = order.groupby("_chain", sort=False)
    tail = grouped.tail(1)
    latest = frame.iloc[tail["_row"].to_numpy()].assign(_group=tail["_group"].to_numpy())
    latest.index = pd.Index(tail["_chain"].to_numpy(), name="_chain")
    first_start = grouped[rule.start].min()
    any_open = order[rule.end].isna().groupby(order["_chain"]).any()
    last_end = grouped[rule.end].max().where(~any_open, pd.NaT)
    first_line = grouped.head(1).set_index("_chain")
    members, member_keys = _members(order, chain)

    merged = latest.copy()
    merged[rule.start] = first_start
    merged[rule.end] = last_end.astype("datetime64[ns]")
    # The event keeps the first line's key, so its reference stays the same as lines are added.
    merged[KEY] = first_line[KEY]
    merged[POSITION] = first_line[POSITION]
    merged[MEMBERS] = members
    merged[MEMBER_KEYS] = member_keys
    if "_reference_base" in first_line:
        merged["_reference_base"] = first_line["_reference_base"]
    return (
        merged.reset_index(drop=True)
        .sort_values(POSITION, kind="stable")
        .reset_index(drop=True)
        .astype({POSITION: np.int64})
    )


def _members(order: pd.DataFrame, chain) -> tuple[pd.Series, pd.Series]:
    """Per chain (consecutive in `order`), the list of its lines' positions and their keys
    joined with ';', indexed by chain: built in Arrow from the chain boundaries, not by a
    Python call per chain (a million lines make hundreds of thousands of chains)."""

    starts = np.flatnonzero(np.r_[True, chain[1:] != chain[:-1]])
    offsets = pa.array(np.r_[starts, len(chain)].astype(np.int64))
    index = pd.Index(chain[starts], name="_chain")
    positions = pa.array(order[POSITION].to_numpy(dtype=np.int64))
    members = pa.LargeListArray.from_arrays(offsets, positions).to_pylist()
    keys = pa.array(order[KEY], type=pa.large_string())
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    joined = pc.binary_join(
        pa.LargeListArray.from_arrays(offsets, keys), pa.scalar(";", pa.large_string())
    )
    return (
        pd.Series(members, index=index, name=POSITION, dtype=object),
        pd.Series(joined.to_pylist(), index=index, name=KEY, dtype="string"),
    )
