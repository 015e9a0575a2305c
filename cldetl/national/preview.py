"""What DHSC's central processing will make of a CLD file, before it is submitted.

The steps, each in its own module and each following one of DHSC's SQL files (commit e6f5749
of DataS-DHSC/ASC-CLD-LA-Dashboard; files, lines and every threshold in
cldetl/spec/national.yaml):

1. period.py: the reporting period derived from event end dates, gap and missing-type flags.
2. filter.py: events in that period, end dates corrected by the date of death.
3. dedup.py: the person ID, the unique event, the row kept per event.
4. data_quality.py: the DQ status and result of each of DHSC's fields on each row.
5. fates.py: one fate per row, reconciled to the row count.

The reference period the filter uses is the derived one: DHSC selects a file only when its
derived period covers the period published (GetSubmissionsV2). With none derived, every row's
fate says the file would not be selected. All output is counts, dates, line numbers and Event
References: no value of a personal field.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from cldetl.errors import InputError
from cldetl.national.allocator import give_back, one_allocator
from cldetl.national.batches import Part, batch_parts
from cldetl.national.carer_links import LINKED_FIELDS, comparable_ids
from cldetl.national.compact import CompactRows, PackedFrame, pack
from cldetl.national.data_quality import dq_codes, dq_counts, dq_pairs, dq_summary_of
from cldetl.national.dedup import (
    INVALID,
    as_numeric_18_2,
    cleaned,
    key_fields,
    null_text_blank,
    outcome_rank,
    person_id,
    unique_events,
)
from cldetl.national.distinct import per_distinct
from cldetl.national.fates import FATE_COLUMNS, assign_fates
from cldetl.national.filter import filter_to_period
from cldetl.national.measures import MEASURE_FIELDS
from cldetl.national.method import national_method
from cldetl.national.model import Preview
from cldetl.national.period import classify, derive_period
from cldetl.national.text import warnings_for
from cldetl.spec import Spec, load_spec
from cldetl.validate import validate_each_batch
from cldetl.validate.checks.context import CheckContext
from cldetl.validate.csvfile import BATCH_BYTES, CldTable, NotUtf8, open_cld_csv
from cldetl.validate.findings import ValidationReport

# The rules the preview gives (warnings: what DHSC will do, not what the file breaks).
PREVIEW_RULES = (
    "national.period_not_derived",
    "national.period_differs",
    "national.period_gap",
    "national.missing_event_type",
    "national.same_event",
    "national.no_person_id",
    "national.dropped",
    "national.carer_link_to_no_one",
)
# Fields DHSC maps to Release 2 before comparing them for its unique event.
CLEANED_KEYS = (
    "Client Type",
    "Request: Route of Access",
    "Assessment Type",
    "Service Type",
    "Service Component",
    "Delivery Mechanism",
    "Cost Frequency (Unit Type)",
    "Event Outcome",
)


# The preview reads the file in smaller batches than validate's: its worker processes hold each
# batch's reduction (the compact rows, packed) beside the parsed batch, and with validate's
# batches they peak above validate's own workers (issue 19 point 9, 1,000,000 rows: 399 against
# 371 MiB; 299 with half batches, docs/benchmarks.md). The preview alone reads half batches.
# With the measures' unique events kept (packed, compact.PackedFrame) the main process peaks
# at about 375 MiB: batches of three quarters keep the workers near that (347-377 MiB; with
# validate's batches they reached 406-417, above validate's own 400-411) at less time than
# halving costs (7%: 10.0 against 9.3 s). The result never depends on the batch size.
PREVIEW_BATCH_BYTES = BATCH_BYTES // 2
MEASURES_BATCH_BYTES = BATCH_BYTES * 3 // 4


# What the unique events keep for the measures (measures.MEASURE_FIELDS, the records' LA Person
# ID) and the carer-link warning (text.py): the other compact fields are DHSC's steps' own and
# are let go with them.
# Read by the carer-link warning only, and let go after it: the linked person IDs, and the
# Event Reference it names each loose link by (the records' Event Reference is the fates',
# which hold it for every row).
READ_BY_WARNINGS = ("event_reference", *LINKED_FIELDS)
EVENT_FIELDS = frozenset(
    {*MEASURE_FIELDS, "la_person", "Client Type", "der_end", "Event Start Date"}
    | set(READ_BY_WARNINGS)
)


def over_size_limit(path: str | Path) -> InputError:
    """A file over the DLP's size limit is not read (validate reports only its size), so
    there is nothing to preview: the one refusal of `preview`, `measures` and `validate
    --report`."""
    return InputError(
        f"{path}: over the DLP's size limit, so not read and not previewed; `cldetl validate` "
        "without --report reports its size."
    )


def default_import_month(stated_end: date | None) -> date:
    """The month after the stated period ends: the earliest month DHSC can load the file."""
    if stated_end is None:
        return date.today().replace(day=1)
    return (pd.Timestamp(stated_end) + pd.offsets.MonthBegin(1)).date()


def preview(
    source: CldTable | str | Path,
    report: ValidationReport,
    spec: Spec | None = None,
    import_month: date | None = None,
    reference: tuple[date, date] | None = None,
    stated_when_underived: bool = False,
    batch_bytes: int = PREVIEW_BATCH_BYTES,
) -> Preview:
    """The national-processing preview of a file and its validation report.

    source: the file (read a batch at a time: only the dozen fields DHSC's steps use are kept
    for the whole file) or a table already read (one batch);
    import_month: when DHSC loads the file (default: the month after the stated period ends);
    reference: the period published, to filter to (default: the derived period);
    stated_when_underived: with no derived period, filter to the stated one (for the measures:
    what DHSC would publish were the file selected) rather than give every row that fate;
    batch_bytes: about how much of the file each batch holds (the result does not depend on it)."""
    spec = spec or load_spec()
    method = national_method()
    if isinstance(source, CldTable):
        path, stream, table = source.path, None, source
    else:
        path, stream, table = str(source), open_cld_csv(source, batch_bytes), None
        if stream.too_large:
            raise over_size_limit(path)
    findings = report.findings[report.findings["line"].notna()]
    reduce = partial(_reduce_batch, spec=spec, method=method)
    try:
        parts = list(batch_parts(stream, table, spec, findings, reduce))
    except NotUtf8:
        # A later batch is not UTF-8: the whole file is Windows-1252, as validate decides too.
        stream = stream.as_cp1252()
        parts = list(batch_parts(stream, table, spec, findings, reduce))
    return _from_parts(path, parts, method, import_month, reference, stated_when_underived)


def validate_and_preview(
    path: str | Path,
    monthly: bool = False,
    spec: Spec | None = None,
    import_month: date | None = None,
    reference: tuple[date, date] | None = None,
    stated_when_underived: bool = False,
    batch_bytes: int | None = None,
    events: bool = True,
    row_codes: bool = True,
) -> tuple[ValidationReport, Preview]:
    """The file validated and previewed in one read: each batch is reduced to what the preview
    keeps while validate has it parsed and checked (in its worker processes for a large file),
    so the file is parsed once, not once for each. The same report and preview as `validate`
    then `preview`; a file found not to be UTF-8 in a later batch is read again, whole, as
    Windows-1252 by validate, the reductions with it. `events`: keep the unique events the
    measures read (without them, `Preview.events` is None and memory holds less).
    `row_codes`: keep each row's DQ codes (`Preview.dq`, the fates CSV); without them,
    `Preview.dq_pairs` is None and only the per-field table (`quality`) is kept.
    `batch_bytes`: default three quarters of validate's batches with the events
    (MEASURES_BATCH_BYTES), half of them without (PREVIEW_BATCH_BYTES). A file over the DLP's
    size limit is not read (validate reports only its size): InputError, as `cldetl preview`."""
    if batch_bytes is None:
        batch_bytes = MEASURES_BATCH_BYTES if events else PREVIEW_BATCH_BYTES
    spec = spec or load_spec()
    method = national_method()
    step = partial(_reduce_batch, spec=spec, method=method, row_codes=row_codes)
    report, parts = validate_each_batch(
        path, step, monthly=monthly, spec=spec, batch_bytes=batch_bytes
    )
    if not parts:  # validate gives no batch only for a file it does not read
        raise over_size_limit(path)
    out = _from_parts(
        str(path), parts, method, import_month, reference, stated_when_underived, events
    )
    return report, out


@one_allocator()
def _from_parts(
    path: str,
    batches: list[Part],
    method: dict,
    import_month: date | None,
    reference: tuple[date, date] | None,
    stated_when_underived: bool,
    events: bool = True,
) -> Preview:
    """The preview from each batch's Part: the whole-file steps (period, filter, unique events,
    fates) over the compact rows."""
    parts = [b.rows for b in batches]
    stated_parts = [b.stated for b in batches]
    dq_rows = sum(b.dq_counts for b in batches)
    pair_parts = [b.dq_pairs for b in batches if b.dq_pairs is not None]
    row_codes = len(pair_parts) == len(batches)
    batches.clear()  # the caller's list too: the parts are held once, then joined
    rows = CompactRows(parts)  # a column opened when read, and let go a column at a time
    pairs = pd.concat(pair_parts, ignore_index=True) if row_codes else None
    del parts, pair_parts
    give_back()  # after each whole-file step (allocator.py)
    n = len(rows["line"])
    lines = rows["line"].to_numpy()
    la_code = rows["la_code"].mode().iloc[0] if rows["la_code"].notna().any() else None
    stated = _stated(stated_parts)
    month = (import_month or default_import_month(stated[1])).replace(day=1)
    period = derive_period(
        classify(rows["event_type_nulled"], method["reporting_period"]["event_types"]),
        rows["end"],
        la_code,
        stated,
        month,
        method["reporting_period"],
    )
    del rows["event_type_nulled"]  # read by the period only
    give_back()
    if reference is None and period.start and period.end:
        reference = (period.start, period.end)
    elif reference is None and stated_when_underived and all(stated):
        reference = stated
    if reference is None:
        reason = np.full(n, "no_period", dtype=object)
        der_end, death_end = rows["end"], np.zeros(n, dtype=bool)
    else:
        filtered = filter_to_period(
            rows["event_type_raw"],
            rows["Event Start Date"],
            rows["end"],
            rows["died"],
            reference,
            method["period_filter"],
        )
        reason, der_end = filtered.reason, filtered.der_end
        death_end = filtered.death_end.to_numpy()
        del filtered
    del rows["event_type_raw"], rows["end"]  # read by the filter only (der_end from here)
    give_back()
    rows.close("died")  # read by the filter; kept for the measures, packed until then
    has_person = rows["person"].notna().to_numpy()
    candidates = (reason == "") & has_person
    no_person = (reason == "") & ~has_person
    del has_person
    merged_into = np.zeros(n, dtype=np.int64)
    rows["der_end"] = der_end
    del der_end
    # The candidates' rows of the fields the unique events read, each whole column let go
    # once its candidates are taken; the fields the events keep (EVENT_FIELDS) taken once,
    # for the rows kept; the rest let go now.
    order = [name for name in rows if name in EVENT_FIELDS] if events else []
    keys = key_fields(method)
    frame = {name: _taken(rows.pop(name), candidates) for name in list(rows) if name in keys}
    for name in [name for name in rows if name not in order and name != "event_reference"]:
        del rows[name]  # the Event Reference is read for the fates, after the unique events
    give_back()
    kept_rows = candidates
    if candidates.any():
        grouped = unique_events(_as_frame(frame), method)
        kept_line = grouped["kept_line"].to_numpy()
        del grouped
        give_back()
        merged_into[candidates] = kept_line
        kept = kept_line == frame["line"].to_numpy()
        frame = {name: _taken(frame.pop(name), kept) for name in list(frame) if name in order}
        kept_rows = candidates.copy()
        kept_rows[candidates] = kept
        del kept
    # The unique events' columns packed as each is taken (compact.PackedFrame): the measures
    # open the few each reads.
    held = PackedFrame()
    for name in [name for name in frame if name in order]:
        held[name] = frame.pop(name)
    del frame
    references = rows.pop("event_reference")
    if events:
        for name in list(rows):
            held[name] = _taken(rows.pop(name), kept_rows)
        if "event_reference" in order:
            held["event_reference"] = _taken(references, kept_rows)
    del kept_rows
    fate, counts = assign_fates(
        n, reason, no_person, merged_into, lines, death_end, method["fates"]
    )
    give_back()
    fates = PackedFrame(
        {
            "line": pd.Series(lines),
            "event_reference": references,
            "fate": pd.Series(pd.Categorical(fate, categories=list(method["fates"]))),
            "merged_into_line": pd.Series(np.where(fate == "merged", merged_into, 0)),
        }
    ).select(FATE_COLUMNS)
    del references, merged_into
    out = Preview(
        file=path,
        rows=n,
        period=period,
        reference_period=reference,
        packed_fates=fates,
        fate_counts=counts,
        dq_pairs=pairs,
        quality=dq_summary_of(dq_rows, method),
        events=held.select(order) if events else None,
    )
    del held
    out.warnings = warnings_for(out, method)
    if events:
        out.events = out.events.without(READ_BY_WARNINGS)
    give_back()
    return out


def _reduce_batch(
    ctx: CheckContext, findings: pd.DataFrame, spec: Spec, method: dict, row_codes: bool = True
) -> Part:
    """What one batch leaves for the whole file: its compact rows, stated period, DQ counts
    and (`row_codes`) each row's DQ pairs."""
    pairs = dq_pairs(dq_codes(ctx, findings, method), method)
    return Part(
        rows={name: pack(column) for name, column in _rows(ctx, spec, method).items()},
        stated=_stated_in(ctx),
        dq_counts=dq_counts(pairs, method),
        dq_pairs=pairs if row_codes else None,
    )


def _stated_in(ctx: CheckContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    """One batch's earliest stated start and latest stated end."""
    start, end = ctx.dates("Reporting Period Start Date"), ctx.dates("Reporting Period End Date")
    return start.min(), end.max()


def _stated(parts: list[tuple[pd.Timestamp, pd.Timestamp]]) -> tuple[date | None, date | None]:
    """The earliest start and latest end stated in the file (LA_Submissions: MIN and MAX)."""
    start = pd.Series([p[0] for p in parts], dtype="datetime64[us]").min()
    end = pd.Series([p[1] for p in parts], dtype="datetime64[us]").max()
    return (
        start.date() if pd.notna(start) else None,
        end.date() if pd.notna(end) else None,
    )


def _rows(ctx: CheckContext, spec: Spec, method: dict) -> dict[str, pd.Series]:
    """One batch's rows as DHSC's steps use them, held compactly because they are kept for the
    whole file: dates parsed, the literal text NULL blank in the fields DHSC lists, key fields
    cleaned to Release 2 as categories (one byte a row), costs as NUMERIC(18,2) categories,
    the person ID as a 64-bit hash; nothing else of the row is kept. A column each, not a
    frame, so that joining the batches can let each batch's column go as it is joined."""
    null_text = method["derived_fields"]["null_text"]
    nulled = set(method["derived_fields"]["null_text_fields"])

    def value(column: pd.Series, name: str) -> pd.Series:
        if name in nulled:
            return null_text_blank(column, null_text)
        return column.astype("string").str.strip().replace("", pd.NA)

    def key(column: pd.Series, name: str) -> pd.Series:
        return _category(cleaned(value(column, name), name, spec), name, spec)

    def number(column: pd.Series, name: str) -> pd.Series:
        return as_numeric_18_2(value(column, name))

    la_code = ctx.column("LA Code").astype("string").str.strip()
    la_person = ctx.column("LA Person Unique Identifier").astype("string")
    index = ctx.frame.index
    frame = {
        name: pd.Series(column.array if isinstance(column, pd.Series) else column, index=index)
        for name, column in {
            "line": np.asarray(ctx.table.lines, dtype=np.int64),
            "la_code": la_code.astype("category"),
            "event_type_raw": ctx.column("Event Type").astype("category"),
            "event_type_nulled": per_distinct(
                ctx.column("Event Type"), lambda c: null_text_blank(c, null_text)
            ),
            "Event Start Date": ctx.dates("Event Start Date"),
            "end": ctx.dates("Event End Date"),
            "died": ctx.dates("Date of Death"),
            "birth": ctx.dates("Date of Birth"),
            "person": hashed_person(person_id(ctx.column("NHS Number"), la_person, la_code)),
            "la_person": la_person,
            "event_reference": ctx.column("Event Reference").astype("string"),
        }.items()
    }
    kind = per_distinct(
        ctx.column("Event Type"),
        lambda c: _category(
            cleaned(null_text_blank(c, null_text), "Event Type", spec), "Event Type", spec
        ),
    )
    frame["event_type"] = kind
    frame["Event Type"] = kind
    for name in (*CLEANED_KEYS, "Accommodation Status", "Primary Support Reason"):
        frame[name] = per_distinct(ctx.column(name), partial(key, name=name))
    for name in LINKED_FIELDS:  # an unpaid carer's links, as DHSC's join compares them
        frame[name] = comparable_ids(value(ctx.column(name), name))
    for name in method["deduplication"]["numeric_fields"]:
        frame[name] = per_distinct(ctx.column(name), partial(number, name=name))
    rank = outcome_rank(frame["Event Outcome"], method["deduplication"])
    frame["outcome_rank"] = pd.Series(np.asarray(rank, dtype=np.int16), index=index)
    return frame


def _category(values: pd.Series, name: str, spec: Spec) -> pd.Series:
    """A cleaned field as a category over the spec's values (the same categories in every
    batch, so the batches join without turning back into text)."""
    allowed = list(spec.field(name).values or [])
    if not allowed:
        return values.astype("category")
    return pd.Series(pd.Categorical(values, categories=[*allowed, INVALID]), index=values.index)


def hashed_person(person: pd.Series) -> pd.Series:
    """DHSC's person ID as a 64-bit hash (nullable): one number a row instead of its text. Two
    people sharing a hash among a million rows is a chance of about 1 in 30 million; the
    validator keys its repeat checks the same way (validate/checks/file_level.py)."""
    known = person.notna().to_numpy()
    hashes = pd.util.hash_array(person.fillna("").to_numpy(dtype=object)).view(np.int64)
    return pd.Series(pd.arrays.IntegerArray(hashes, ~known), index=person.index)


def _taken(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """The rows of a column where `rows` is true, numbered from 0 (no index copied)."""
    return pd.Series(column.array[rows], name=column.name)


def _as_frame(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """Columns as a frame without copying them into blocks (concat side by side keeps each
    column's own array)."""
    if not columns:
        return pd.DataFrame()
    return pd.concat(list(columns.values()), axis=1, keys=list(columns))
