"""The one fate of each row of a file, in the order DHSC's steps decide it, reconciled.

A row is dropped by the period filter (create_FilterToEventsInPeriod_procedure.sql) or for want
of a person ID (create_GetDerivedFields_procedure.sql); otherwise it is merged into the row
that stands for its unique event (create_GetUniqueEvents_procedure.sql), or kept, its end date
perhaps replaced by the date of death. The counts of fates add up to the file's rows, or the
preview stops: nothing is lost silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldetl.errors import InternalError

FATE_COLUMNS = ("line", "event_reference", "fate", "merged_into_line")


class FatesDoNotReconcile(InternalError):
    """The fates of the rows do not add up to the file's row count (a bug, not bad input)."""


def assign_fates(
    n: int,
    dropped: np.ndarray,
    no_person: np.ndarray,
    merged_into: np.ndarray,
    lines: np.ndarray,
    death_end: np.ndarray,
    labels: dict[str, str],
) -> tuple[pd.Categorical, pd.Series]:
    """Fate keys per row (a category of national.yaml's `fates`, a byte a row) and their
    counts, in national.yaml's order.

    dropped: the filter's reason per row ("" when kept); no_person: kept by the filter but with
    no person ID; merged_into: the kept row's line for every candidate (0 where none); death_end:
    the end date was set to the date of death. The first that holds decides: dropped, then no
    person ID, then merged, then the end date set to the date of death, else kept. A reason
    that is not a fate counts as none, so the counts do not reconcile and the preview stops.
    """
    keys = list(labels)
    code = {key: i for i, key in enumerate(keys)}
    reasons = pd.Categorical(dropped, categories=[*keys, ""]).codes
    fate = np.full(len(reasons), code["kept"], dtype=np.int8)
    fate[death_end] = code["death_end"]
    fate[(merged_into > 0) & (merged_into != lines)] = code["merged"]
    fate[no_person] = code["no_person"]
    given = reasons != len(keys)  # a reason: a fate, or -1 when it is none
    fate[given] = reasons[given]
    known = fate >= 0
    counts = pd.Series(np.bincount(fate[known], minlength=len(keys)), index=keys)
    if int(counts.sum()) != n:
        raise FatesDoNotReconcile(
            f"national preview: fates of {int(counts.sum())} row(s) for a file of {n} row(s)"
        )
    return pd.Categorical.from_codes(fate, categories=keys), counts
