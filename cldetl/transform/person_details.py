"""Person details on every row (guidance, Person Details and "General principles").

Details come from the person source (latest known) and, for those kept with dates (PSR,
address and postcode, accommodation, funding status, unpaid carer), as they stood at the event
end date; open services take the latest (as at the reporting period end).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cldetl.transform.filters import as_text
from cldetl.transform.values import ValueContext, apply_lookup, evaluate_value

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.spec import Spec
    from cldetl.transform.values import UnmappedCodes

PERSON = "_person"
AS_AT = "_as_at"


def person_table(
    mapping: Mapping, spec: Spec, people: pd.DataFrame, unmapped: UnmappedCodes
) -> pd.DataFrame:
    """One row per person id with the mapped person fields (latest known)."""

    details = mapping.person
    ctx = ValueContext(mapping, spec, details.source, unmapped)
    ids = as_text(people[details.key])
    first = ~ids.duplicated(keep="last")
    people = people[first]
    out = pd.DataFrame({PERSON: ids[first]}, index=people.index)
    for field, value in details.fields.items():
        out[field] = evaluate_value(ctx, value, people, field)
    return out.reset_index(drop=True)


def add_dated_details(
    mapping: Mapping,
    spec: Spec,
    rows: pd.DataFrame,
    sources: dict[str, pd.DataFrame],
    period_end,
    unmapped: UnmappedCodes,
) -> pd.DataFrame:
    """Overlay dated details, as at each row's event end date (or the latest)."""

    if not mapping.person.dated or rows.empty:
        return rows
    as_at = (
        rows["Event End Date"].fillna(pd.Timestamp(period_end))
        if ("Event End Date" in rows)
        else pd.Series(pd.Timestamp(period_end), index=rows.index)
    )
    rows = rows.assign(**{AS_AT: as_at.astype("datetime64[ns]")})
    for field, detail in mapping.person.dated.items():
        history = sources[detail.source]
        ctx = ValueContext(mapping, spec, detail.source, unmapped)
        values = (
            apply_lookup(ctx, detail.lookup, history[detail.column], detail.column)
            if detail.lookup
            else as_text(history[detail.column])
        )
        table = pd.DataFrame(
            {
                PERSON: as_text(history[detail.person]),
                "_start": history[detail.start].astype("datetime64[ns]"),
                "_value": values,
            }
        ).dropna(subset=["_start"])
        if detail.as_at == "latest":
            latest = table.sort_values("_start", kind="stable").drop_duplicates(PERSON, keep="last")
            merged = rows[[PERSON]].merge(latest, on=PERSON, how="left")["_value"]
            found = pd.Series(merged.to_numpy(), index=rows.index)
        else:
            left = rows[[PERSON, AS_AT]].reset_index().sort_values(AS_AT, kind="stable")
            right = table.sort_values("_start", kind="stable")
            joined = pd.merge_asof(
                left, right, left_on=AS_AT, right_on="_start", by=PERSON, direction="backward"
            )
            found = joined.set_index("index")["_value"].reindex(rows.index)
        found = found.astype("string")
        has = found.notna() & found.ne("")
        current = rows[field] if field in rows else pd.Series("", index=rows.index, dtype="string")
        if pd.api.types.is_datetime64_any_dtype(current):
            # A date field (Date of Birth, Date of Death) given as a dated detail: read as a
            # date, as the person's own date fields are (events._with_person_details).
            found = pd.to_datetime(found, errors="coerce").astype(current.dtype)
        rows[field] = found.where(has, current)
    return rows.drop(columns=[AS_AT])
