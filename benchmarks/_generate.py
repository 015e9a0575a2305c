"""Synthetic CLD Release 2 files that pass `cldetl validate`, for benchmarks.

Vectorised (numpy draws the choices, Arrow compute builds the text) and seeded: a million rows
(508 MB) take about 6 s of CPU to generate and 4 s to write. The file is what Excel's "CSV UTF-8"
saves (CRLF line ends, quotes only around values with a comma), without the BOM.

Each person (NHS number, LA identifier, name, date of birth, postcode...) has one or more event
rows, in a realistic mix of requests, assessments, services and reviews for service users and
unpaid carers, plus "Unpaid carer known by association" rows without an event.

Every defined-list value comes from `cldetl.spec.load_spec()`. Where the generator needs a value
by name (to weight it, or because a rule of the spec is about it) it asks `_Spec.value`, which
fails loudly if the spec no longer has that value, so the generator cannot silently drift from
the spec. Which services must be costed is the spec's own `costed_service` condition, evaluated
on the generated columns.

What keeps the rows valid (cldetl/spec/release2.yaml, cldetl/validate/checks/*):
- one LA Code and the reporting period 01/10/2024-30/09/2025 (a quarter end, 12 months);
- NHS numbers with a correct modulus 11 check digit, one per person;
- identifiers with at most four digits and one letter in a row, so they cannot hold a date of
  birth, a postcode or a name (privacy.identifier); event references unique;
- requests, assessments and reviews end inside the period; services are active during it; no
  event before the date of birth or after the date of death (deceased people have no open
  service); no two events of one person start on the same day (file.duplicate_event);
- every Annex A mandatory field filled where it applies, and fields that do not apply blank;
- outcomes from the guidance's outcome-by-event-type table, open services 'Continuation of
  support or services', unpaid carers' PSR 'Social support: Support to unpaid carer'.

    python benchmarks/_generate.py --rows 20000 --check       # a sample, validated
    python benchmarks/_generate.py --rows 1000000 --out /tmp/cld_1m.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from cldetl.spec import Spec, load_spec  # noqa: E402
from cldetl.spec.period import ReportingPeriod  # noqa: E402

PERIOD_END = common.PERIOD_END  # the quarter every benchmark reports
PERIOD_START = ReportingPeriod.ending(PERIOD_END).start
LA_CODE = "925"
EPOCH = dt.date(1970, 1, 1)
OLDEST = dt.date(1915, 1, 1)
NHS_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)
BLANK = -1  # a blank value, in arrays of indices into a list
NO_DAY = -(10**7)  # a blank date, in arrays of days since 1970 (where -1 is 31/12/1969)

# Client types of the people in the file (shares of people, not rows), and how many event rows a
# person has: 1 + a geometric number with this parameter.
PEOPLE = {
    "Service user": (0.80, 0.40),
    "Unpaid carer": (0.12, 0.60),
    "Unpaid carer known by association": (0.06, None),
    "Unknown": (0.02, None),
}
EVENT_MIX = {
    "Service user": {"Request": 0.25, "Assessment": 0.20, "Service": 0.40, "Review": 0.15},
    "Unpaid carer": {"Request": 0.20, "Assessment": 0.40, "Service": 0.30, "Review": 0.10},
    "Unknown": {"Request": 1.0},
}

FIRST_FEMALE = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Emily Margaret Joan "
    "Patricia Barbara Dorothy Jean Sheila Brenda Susan Janet Christine Sandra Pauline Helen "
    "Karen Linda Valerie"
).split()
FIRST_MALE = (
    "Oliver George Noah Arthur Harry Leo Muhammad Jack Charlie Oscar Jacob Henry Thomas William "
    "James David John Michael Peter Robert Brian Kenneth Alan Derek Keith Graham Stephen Mark "
    "Paul Andrew"
).split()
LAST = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "Khan Begum Kowalski Nowak Okafor Mensah Singh Ahmed Ali Hussain"
).split()
OUTWARD = (
    [f"LN{d}" for d in range(1, 14)]
    + [f"PE{d}" for d in (9, 10, 11, 12, 20, 21, 22, 23, 24, 25)]
    + [f"NG{d}" for d in (31, 32, 33, 34)]
    + [f"DN{d}" for d in (21, 32, 35, 36, 37, 40)]
)
INWARD_LETTERS = tuple("ABDEFGHJLNPQRSTUWXYZ")
DESCRIPTIONS = {
    "Request": ("Contact via front door", "Referral from hospital discharge team", "Self referral"),
    "Assessment": ("Care Act assessment", "Carers assessment", "Financial assessment completed"),
    "Service": ("Package of care", "Care home placement", "Direct payment agreement"),
    "Review": ("Annual review", "Review following hospital stay", "Six week review"),
}

# Plausible service components for each service type (the spec does not pair them).
COMPONENTS = {
    "Short term support: ST-Max": ["Reablement"],
    "Short term support: Ongoing low level": [
        "Equipment",
        "Meals",
        "Transport",
        "Day support",
        "Professional support: Other",
    ],
    "Short term support: Other short term": [
        "Short term nursing care",
        "Short term residential care",
        "Emergency support",
        "Other short term support",
    ],
    "Long term support: Nursing care": ["Long term nursing care"],
    "Long term support: Residential care": ["Long term residential care"],
    "Long term support: Community": [
        "Home support or domiciliary care",
        "Home support or domiciliary care",
        "Home support or domiciliary care",
        "Direct payment",
        "Direct payment",
        "Day support",
        "Community supported living",
        "Shared Lives",
        "Extra care housing",
        "Professional support: Social worker",
        "Learning, education or employment support",
        "End of life care",
        "Other long term support",
    ],
    "Long term support: Prison": ["Home support or domiciliary care", "Equipment"],
    "Unpaid carer support: Direct to unpaid carer": [
        "Direct payment",
        "Unpaid carer universal services",
        "Other unpaid carer support",
        "Professional support: Other",
    ],
    "Unpaid carer support: Support involving the person cared-for": [
        "Unpaid carer respite",
        "Unpaid carer sitting service",
    ],
}
# Cost frequency by service component: (frequencies, weights); others use DEFAULT_FREQUENCY.
FREQUENCY = {
    "Long term nursing care": (["Weekly"], [1]),
    "Long term residential care": (["Weekly"], [1]),
    "Short term nursing care": (["Weekly", "Daily"], [3, 1]),
    "Short term residential care": (["Weekly", "Daily"], [3, 1]),
    "Home support or domiciliary care": (["Hourly"], [1]),
    "Reablement": (["Hourly"], [1]),
    "Day support": (["Daily", "Per session"], [1, 1]),
    "Meals": (["Per session"], [1]),
    "Direct payment": (["4-weekly", "Weekly", "Monthly"], [2, 2, 1]),
    "Unpaid carer respite": (["Daily", "Weekly"], [2, 1]),
    "Equipment": (["One-off"], [1]),
}
DEFAULT_FREQUENCY = (["Weekly", "Hourly", "Monthly", "One-off", "Annually"], [4, 3, 1, 1, 1])
# Unit cost range in pounds by cost frequency.
COST_RANGE = {
    "Per session": (20, 90),
    "Hourly": (18, 32),
    "Daily": (40, 160),
    "Weekly": (300, 1800),
    "Fortnightly": (500, 2500),
    "4-weekly": (800, 5000),
    "Monthly": (800, 5000),
    "Quarterly": (1000, 8000),
    "Annually": (100, 3000),
    "One-off": (50, 2500),
}
CQC_COMPONENTS = (
    "Long term nursing care",
    "Long term residential care",
    "Short term nursing care",
    "Short term residential care",
    "Home support or domiciliary care",
    "Reablement",
    "Community supported living",
    "Shared Lives",
    "Extra care housing",
)


class _Spec:
    """The spec's defined lists, and the values the generator names, checked to exist."""

    def __init__(self, spec: Spec):
        self.spec = spec

    def values(self, field: str) -> tuple[str, ...]:
        return self.spec.field(field).values

    def value(self, field: str, value: str) -> str:
        if value not in self.values(field):
            raise KeyError(f"{value!r} is not on the {field} list of the spec")
        return value

    def index(self, field: str, value: str) -> int:
        return self.values(field).index(self.value(field, value))


class _Draw:
    """Seeded draws as index arrays into a list of values (BLANK = -1 for a blank)."""

    def __init__(self, seed: int, lists: _Spec):
        self.rng = np.random.default_rng(seed)
        self.lists = lists

    def weights(
        self, values: Sequence[str], favour: Mapping[str, float] | None, default: float = 1.0
    ) -> np.ndarray:
        favour = favour or {}
        unknown = set(favour) - set(values)
        if unknown:
            raise KeyError(f"not among the values: {sorted(unknown)}")
        w = np.array([favour.get(v, default) for v in values], dtype=float)
        return w / w.sum()

    def pick(
        self,
        field: str,
        n: int | np.ndarray,
        favour: Mapping[str, float] | None = None,
        default: float = 1.0,
        only: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Indices into the field's list for n rows, or for the rows of a boolean mask (BLANK
        elsewhere); `only` restricts to some values, `favour` weights them."""
        values = self.lists.values(field)
        allowed = list(values) if only is None else [self.lists.value(field, v) for v in only]
        p = self.weights(allowed, favour, default)
        lookup = np.array([values.index(v) for v in allowed], dtype=np.int64)
        if isinstance(n, int):
            return lookup[self.rng.choice(len(allowed), size=n, p=p)]
        out = np.full(len(n), BLANK, dtype=np.int64)
        out[n] = lookup[self.rng.choice(len(allowed), size=int(n.sum()), p=p)]
        return out

    def filled(self, n: int, share: float) -> np.ndarray:
        return self.rng.random(n) < share

    def days(self, low: np.ndarray | int, high: np.ndarray | int, n: int) -> np.ndarray:
        """Uniform whole days in [low, high]."""
        return low + np.floor(self.rng.random(n) * (np.asarray(high) - low + 1)).astype(np.int64)


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _text(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    """values[idx] as an Arrow string array, '' where idx is BLANK."""
    dictionary = pa.array(list(values) + [""], pa.string())
    idx = np.where(idx == BLANK, len(values), idx)
    return dictionary.take(pa.array(idx, pa.int32()))


def _where(mask: np.ndarray, text: pa.Array) -> pa.Array:
    """text where mask, '' elsewhere."""
    return pc.if_else(pa.array(mask, pa.bool_()), text, "")


def _digits(numbers: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _amount(hundredths: np.ndarray) -> pa.Array:
    """0.00 numbers: '650', '24.50' (whole amounts without decimals, like many LA extracts)."""
    whole = _digits(hundredths // 100)
    with_pence = _join(whole, ".", _digits(hundredths % 100, 2))
    return pc.if_else(pa.array(hundredths % 100 == 0), whole, with_pence)


class _Dates:
    """dd/mm/yyyy text for whole days since 1970, by lookup in a table of every day."""

    def __init__(self):
        import pandas as pd

        first, last = _day(OLDEST), _day(dt.date(2027, 1, 1))
        self.first = first
        days = pd.date_range(OLDEST, periods=last - first + 1, freq="D")
        self.table = pa.array(list(days.strftime("%d/%m/%Y")) + [""], pa.string())
        self.blank = len(self.table) - 1

    def text(self, days: np.ndarray) -> pa.Array:
        idx = np.where(days == NO_DAY, self.blank, days - self.first)
        return self.table.take(pa.array(idx, pa.int32()))


def nhs_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` distinct valid NHS numbers: 9 random digits and their modulus 11 check digit
    (a prefix whose check digit would be 10 is never issued, so it is dropped)."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < count:
        draw = int((count - len(out)) * 1.15) + 1000
        prefix = np.sort(rng.integers(400_000_000, 800_000_000, size=draw, dtype=np.int64))
        prefix = prefix[np.r_[True, prefix[1:] != prefix[:-1]]]
        digits = (prefix[:, None] // 10 ** np.arange(8, -1, -1, dtype=np.int64)) % 10
        check = 11 - (digits @ NHS_WEIGHTS) % 11
        check[check == 11] = 0
        ok = check != 10
        fresh = prefix[ok] * 10 + check[ok]
        out = np.sort(np.concatenate([out, fresh]))
        out = out[np.r_[True, out[1:] != out[:-1]]]
    return rng.permutation(out)[:count]


def _people(draw: _Draw, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(client type index per person, person index per row) for exactly `rows` rows."""
    rng = draw.rng
    kinds = list(PEOPLE)
    shares = np.array([PEOPLE[k][0] for k in kinds])
    estimate = int(rows / 1.9) + 100
    while True:
        kind = rng.choice(len(kinds), size=estimate, p=shares / shares.sum())
        events = np.ones(estimate, dtype=np.int64)
        for i, k in enumerate(kinds):
            p = PEOPLE[k][1]
            if p is not None:
                mask = kind == i
                events[mask] += rng.geometric(p, size=int(mask.sum())) - 1
        total = np.cumsum(events)
        if total[-1] >= rows:
            break
        estimate *= 2
    people = int(np.searchsorted(total, rows)) + 1
    events = events[:people].copy()
    events[-1] -= total[people - 1] - rows
    return kind[:people], np.repeat(np.arange(people), events)


def generate(rows: int, seed: int = common.SEED, spec: Spec | None = None) -> pa.Table:
    """A valid CLD Release 2 table of `rows` rows, every column text, in specification order."""
    spec = spec or load_spec()
    lists = _Spec(spec)
    draw = _Draw(seed, lists)
    rng = draw.rng
    dates = _Dates()
    p0, p1 = _day(PERIOD_START), _day(PERIOD_END)
    cols: dict[str, pa.Array] = {}

    # People.
    kind_of_person, person = _people(draw, rows)
    kinds = list(PEOPLE)
    P = len(kind_of_person)
    ctype_values = lists.values("Client Type")
    ctype_p = np.array([ctype_values.index(lists.value("Client Type", k)) for k in kinds])[
        kind_of_person
    ]
    su_p = kind_of_person == kinds.index("Service user")
    uc_p = kind_of_person == kinds.index("Unpaid carer")
    cba_p = kind_of_person == kinds.index("Unpaid carer known by association")
    carer_p = uc_p | cba_p

    gender_p = draw.pick(
        "Gender", P, {"Female": 0.58, "Male": 0.41, "Other": 0.002, "Unknown": 0.008}
    )
    female = gender_p == lists.index("Gender", "Female")
    male = gender_p == lists.index("Gender", "Male")
    first_any = FIRST_FEMALE + FIRST_MALE
    first_idx = np.where(
        female,
        rng.integers(0, len(FIRST_FEMALE), P),
        np.where(
            male,
            len(FIRST_FEMALE) + rng.integers(0, len(FIRST_MALE), P),
            rng.integers(0, len(first_any), P),
        ),
    )
    first_p = _text(first_any, first_idx)
    last_p = _text(LAST, rng.integers(0, len(LAST), P))
    nhs_p = _digits(nhs_numbers(rng, P))
    serial = rng.permutation(P) + rng.integers(0, 10_000_000)
    id_p = _join("P", _digits(serial // 10_000 % 10_000, 4), "-", _digits(serial % 10_000, 4))

    age = np.where(
        su_p,
        np.where(rng.random(P) < 0.3, rng.uniform(18, 65, P), 65 + 35 * rng.beta(1.5, 2.5, P)),
        rng.uniform(18, 90, P),
    )
    dob_p = p1 - np.floor(age * 365.25).astype(np.int64)
    dob_p = np.maximum(dob_p, _day(OLDEST))
    age_at_end = (p1 - dob_p) / 365.25

    psr_carer = lists.index("Primary Support Reason", "Social support: Support to unpaid carer")
    psr_p = draw.pick(
        "Primary Support Reason",
        P,
        {
            "Physical support: Personal care support": 45,
            "Physical support: Access and mobility only": 8,
            "Support with memory and cognition": 10,
            "Learning disability support": 12,
            "Mental health support": 12,
            "Social support: Support to unpaid carer": 0,
            "Unknown": 2,
        },
    )
    psr_p = np.where(carer_p, psr_carer, psr_p)

    postcode_p = _join(
        _text(OUTWARD, rng.integers(0, len(OUTWARD), P)),
        " ",
        _digits(rng.integers(0, 10, P)),
        _text(INWARD_LETTERS, rng.integers(0, len(INWARD_LETTERS), P)),
        _text(INWARD_LETTERS, rng.integers(0, len(INWARD_LETTERS), P)),
    )
    # A few of the postcode field's own special values (no fixed abode, not known, unknown).
    special = rng.random(P)
    for value, (low, high) in zip(
        spec.field("Postcode").special_values,
        ((0, 0.002), (0.002, 0.003), (0.003, 0.007)),
        strict=True,
    ):
        postcode_p = pc.if_else(pa.array((special >= low) & (special < high)), value, postcode_p)

    accommodation_p = draw.pick(
        "Accommodation Status",
        P,
        {
            "Owner occupier or shared ownership scheme": 30,
            "Tenant: Local authority or other social housing provider": 18,
            "Tenant: Private landlord": 8,
            "Settled mainstream housing with family or friends": 12,
            "Supported accommodation, supported lodgings or supported group home": 5,
            "Sheltered housing, extra care housing or other sheltered housing": 5,
            "Registered care home": 8,
            "Registered nursing home": 4,
            "Unknown": 4,
        },
        default=0.2,
    )
    employment_p = draw.pick(
        "Employment Status",
        P,
        {
            "Not in paid employment: Not actively seeking work or retired": 6,
            "Not in paid employment: Seeking work": 1,
            "Unknown": 2,
        },
    )
    retired = lists.index(
        "Employment Status", "Not in paid employment: Not actively seeking work or retired"
    )
    # Mandatory for service users aged 18-64 with a learning disability: filled for everyone
    # under 66 at the period end, and for some older people (who are retired).
    employment_p = np.where(
        age_at_end < 66, employment_p, np.where(draw.filled(P, 0.4), retired, BLANK)
    )
    has_carer_p = np.where(
        su_p,
        draw.pick("Has Unpaid Carer", P, {"Yes": 35, "No": 45, "Unknown": 20}),
        draw.pick("Has Unpaid Carer", P, {"Yes": 5, "No": 70, "Unknown": 25}),
    )
    asd_p = np.where(
        draw.filled(P, 0.6), draw.pick("Autism Spectrum Disorder (ASD)", P, {"No": 8}), BLANK
    )
    visual_p = np.where(
        draw.filled(P, 0.6), draw.pick("Visual Impairment", P, {"No visual impairment": 12}), BLANK
    )
    hearing_p = np.where(
        draw.filled(P, 0.6),
        draw.pick("Hearing Impairment", P, {"No hearing impairment": 12}),
        BLANK,
    )
    dementia_p = np.where(draw.filled(P, 0.6), draw.pick("Dementia", P, {"No": 6}), BLANK)
    funding_p = draw.pick(
        "Client Funding Status",
        P,
        {
            "Fully social care funded": 60,
            "Joint client and social care funded": 30,
            "Fully client funded": 5,
            "Unknown": 5,
        },
    )
    funding_p = np.where(su_p | draw.filled(P, 0.2), funding_p, BLANK)
    gp_p = _where(draw.filled(P, 0.9), _join("C83", _digits(rng.integers(1, 700, P), 3)))
    deceased_p = su_p & draw.filled(P, 0.03)

    # Event rows.
    n = rows
    ctype = ctype_p[person]
    su, uc = su_p[person], uc_p[person]
    event_values = lists.values("Event Type")
    etype = np.full(n, BLANK, dtype=np.int64)
    for kind, mix in EVENT_MIX.items():
        rows_of_kind = kind_of_person[person] == kinds.index(kind)
        etype[rows_of_kind] = draw.pick("Event Type", rows_of_kind, mix, default=0)[rows_of_kind]
    request = etype == event_values.index("Request")
    assessment = etype == event_values.index("Assessment")
    service = etype == event_values.index("Service")
    review = etype == event_values.index("Review")
    completed = request | assessment | review
    event = etype != BLANK

    # Dates: completed events end inside the period; services are active during it.
    dob = dob_p[person]
    end = np.full(n, NO_DAY, dtype=np.int64)
    start = np.full(n, NO_DAY, dtype=np.int64)
    end_c = draw.days(p0, p1, n)
    length = np.where(
        request,
        rng.integers(0, 8, n),
        np.where(assessment, rng.integers(0, 61, n), rng.integers(0, 31, n)),
    )
    end[completed] = end_c[completed]
    start[completed] = (end_c - length)[completed]
    started_before = draw.filled(n, 0.5)
    s_start = np.where(started_before, draw.days(p0 - 5 * 365, p0 - 1, n), draw.days(p0, p1, n))
    s_start = np.maximum(s_start, dob + 16 * 365)
    deceased = deceased_p[person]
    closed = service & (draw.filled(n, 0.4) | deceased)
    s_end = draw.days(np.maximum(s_start, p0), p1, n)
    start[service] = s_start[service]
    end[closed] = s_end[closed]
    # No two events of one person start on the same day (the central pipeline's event key).
    events = np.flatnonzero(event)
    for _ in range(100):
        key = person[events].astype(np.int64) * 100_000 + (start[events] - _day(OLDEST))
        order = np.argsort(key, kind="stable")
        later = order[1:][key[order[1:]] == key[order[:-1]]]
        if len(later) == 0:
            break
        start[events[later]] -= 1
    else:
        raise RuntimeError("could not give every event of a person its own start date")
    death_p = np.full(P, NO_DAY, dtype=np.int64)
    np.maximum.at(death_p, person[deceased & event], end[deceased & event])
    death = death_p[person]

    # Request, assessment, review and service details.
    route = np.where(
        request,
        draw.pick(
            "Request: Route of Access",
            n,
            {
                "Community or other route": 60,
                "Discharge from hospital": 20,
                "Diversion from hospital services": 5,
                "Planned transition from children's services": 2,
                "Self-funder": 5,
                "Discharge from reablement": 5,
                "Transfer from other local authority": 2,
                "Prison": 0.2,
            },
        ),
        BLANK,
    )
    assess_type = np.where(
        su,
        draw.pick(
            "Assessment Type",
            n,
            {"Short term assessment": 15, "Long term assessment": 60, "Financial assessment": 25},
        ),
        draw.pick(
            "Assessment Type",
            n,
            {"Short term assessment": 10, "Long term assessment": 85, "Financial assessment": 5},
        ),
    )
    assess_type = np.where(assessment, assess_type, BLANK)
    financial = assess_type == lists.index("Assessment Type", "Financial assessment")
    long_term = assess_type == lists.index("Assessment Type", "Long term assessment")
    eligible = np.where(
        long_term & draw.filled(n, 0.9),
        draw.pick(
            "Eligible Needs Identified",
            n,
            {"Eligible needs identified": 70, "Non-eligible needs identified": 20},
        ),
        BLANK,
    )
    carer_methods = ["Unpaid carer only", "Service user and unpaid carer"]
    user_methods = ["Service user only", "Service user and unpaid carer"]
    method = np.where(
        uc,
        draw.pick("Method of Assessment", n, {"Unpaid carer only": 4}, only=carer_methods),
        draw.pick("Method of Assessment", n, {"Service user only": 3}, only=user_methods),
    )
    method = np.where(assessment & ~financial, method, BLANK)

    service_types = lists.values("Service Type")
    carer_types = [v for v in service_types if v.startswith("Unpaid carer support")]
    user_types = [v for v in service_types if v not in carer_types]
    stype = np.where(
        uc,
        draw.pick("Service Type", n, only=carer_types),
        draw.pick(
            "Service Type",
            n,
            {
                "Short term support: ST-Max": 12,
                "Short term support: Ongoing low level": 6,
                "Short term support: Other short term": 6,
                "Long term support: Nursing care": 10,
                "Long term support: Residential care": 18,
                "Long term support: Community": 48,
                "Long term support: Prison": 0.1,
            },
            only=user_types,
        ),
    )
    stype = np.where(service, stype, BLANK)
    component_values = lists.values("Service Component")
    component = np.full(n, BLANK, dtype=np.int64)
    if set(COMPONENTS) != set(service_types):
        raise KeyError("COMPONENTS must name every Service Type of the spec")
    for type_name, names in COMPONENTS.items():
        rows_of_type = stype == service_types.index(type_name)
        lookup = np.array([lists.index("Service Component", c) for c in names])
        component[rows_of_type] = lookup[rng.integers(0, len(names), int(rows_of_type.sum()))]
    dm_values = lists.values("Delivery Mechanism")
    direct_payment = component == component_values.index(
        lists.value("Service Component", "Direct payment")
    )
    community = stype == service_types.index(
        lists.value("Service Type", "Long term support: Community")
    )
    delivery = draw.pick(
        "Delivery Mechanism",
        n,
        {
            "CASSR commissioned support": 75,
            "CASSR managed personal budget": 25,
            "Direct payment": 0,
        },
    )
    delivery = np.where(direct_payment, dm_values.index("Direct payment"), delivery)
    delivery = np.where(
        service & (community | direct_payment | draw.filled(n, 0.7)), delivery, BLANK
    )
    cqc_components = np.isin(
        component, [lists.index("Service Component", c) for c in CQC_COMPONENTS]
    )
    cqc = _where(
        service & cqc_components & draw.filled(n, 0.8),
        _join("1-", _digits(rng.integers(100_000_000, 10_000_000_000, n))),
    )

    planned = lists.value("Review Reason", "Planned review of long term care and support plan")
    reason = draw.pick(
        "Review Reason",
        n,
        {planned: 60, "Review of short term support": 12, "Unplanned: Provider failure": 1},
        default=5,
    )
    reason = np.where(review, reason, BLANK)
    review_method = np.where(
        uc,
        draw.pick("Method of Review", n, {"Unpaid carer only": 4}, only=carer_methods),
        draw.pick("Method of Review", n, {"Service user only": 3}, only=user_methods),
    )
    review_method = np.where(review, review_method, BLANK)
    met = draw.pick("Review Outcomes Achieved", n, only=["Fully met", "Partially met", "Not met"])
    achieved = np.where(
        reason == lists.index("Review Reason", planned),
        met,
        np.where(draw.filled(n, 0.7), draw.pick("Review Outcomes Achieved", n), BLANK),
    )
    achieved = np.where(review, achieved, BLANK)

    # Outcomes, from the guidance's table of outcomes by event type.
    outcome_values = lists.values("Event Outcome")
    deceased_outcome = lists.value("Event Outcome", "NFA: Deceased")
    continuation = lists.value("Event Outcome", "Continuation of support or services")
    outcome = np.full(n, BLANK, dtype=np.int64)
    favour = {
        "Request": {
            "Progress to assessment, review or reassessment": 35,
            "NFA: Information and advice or signposting": 25,
            "Progress to reablement/ST-Max": 8,
            "Progress to support planning or services": 8,
        },
        "Assessment": {"Progress to support planning or services": 40},
        "Review": {"Continuation of support or services": 50},
        "Service": {"NFA: Support ended as planned": 10, "NFA: Support ended for other reason": 4},
    }
    for type_name in event_values:
        fits = [o for o, types in spec.outcome_event_types.items() if type_name in types]
        fits = [o for o in fits if o != deceased_outcome]
        if type_name == "Service":
            fits = [o for o in fits if o != continuation]
        weights = {k: v for k, v in favour.get(type_name, {}).items() if k in fits}
        rows_of_type = etype == event_values.index(type_name)
        chosen = draw.pick("Event Outcome", rows_of_type, weights, only=fits)
        outcome[rows_of_type] = chosen[rows_of_type]
    outcome[service & ~closed] = outcome_values.index(continuation)
    outcome[(death != NO_DAY) & (end == death) & event] = outcome_values.index(deceased_outcome)
    outcome[financial] = BLANK

    # Unpaid carers: hours, adults cared for and who they are (one answer per carer).
    hours_p = np.where(
        carer_p & draw.filled(P, 0.9), draw.pick("Total Hrs Caring per week", P), BLANK
    )
    adults_p = np.where(
        carer_p & draw.filled(P, 0.9), rng.choice([1, 2, 3], P, p=[0.85, 0.12, 0.03]), 0
    )
    user_ids = np.flatnonzero(su_p)
    linked_p = [
        _where(adults_p >= k, id_p.take(pa.array(user_ids[rng.integers(0, len(user_ids), P)])))
        for k in (1, 2, 3)
    ]
    hours, adults = hours_p[person], adults_p[person]

    # Costs: required on the spec's costed services, present on about half the others.
    import pandas as pd

    from cldetl.spec.conditions import evaluate, walk

    def category(field: str, idx: np.ndarray) -> pd.Series:
        values = list(lists.values(field)) + [""]
        return pd.Series(
            pd.Categorical.from_codes(np.where(idx == BLANK, len(values) - 1, idx), values)
        )

    known = {
        "Client Type": ("Client Type", ctype),
        "Event Type": ("Event Type", etype),
        "Service Type": ("Service Type", stype),
        "Service Component": ("Service Component", component),
        "Delivery Mechanism": ("Delivery Mechanism", delivery),
    }
    costed_service = spec.conditions["costed_service"]
    needed = {getattr(node, "field", None) for node in walk(costed_service)} - {None}
    if not needed <= set(known):
        raise KeyError(
            f"costed_service now reads {sorted(needed - set(known))}: generate them first"
        )
    costed = evaluate(
        costed_service, lambda name: category(*known[name]), lambda: None, n
    ).to_numpy(dtype=bool)
    has_cost = service & (costed | draw.filled(n, 0.5))
    freq_values = lists.values("Cost Frequency (Unit Type)")
    frequency = draw.pick(
        "Cost Frequency (Unit Type)", n, dict(zip(*DEFAULT_FREQUENCY, strict=True)), default=0
    )
    for name, (choices, weights) in FREQUENCY.items():
        rows_of = component == component_values.index(lists.value("Service Component", name))
        pick = draw.pick(
            "Cost Frequency (Unit Type)",
            rows_of,
            dict(zip(choices, weights, strict=True)),
            default=0,
        )
        frequency[rows_of] = pick[rows_of]
    frequency = np.where(has_cost, frequency, BLANK)
    low = np.zeros(n)
    high = np.zeros(n)
    for name, (lo, hi) in COST_RANGE.items():
        rows_of = frequency == freq_values.index(lists.value("Cost Frequency (Unit Type)", name))
        low[rows_of], high[rows_of] = lo, hi
    pounds = low + (high - low) * rng.random(n)
    pence = np.round(pounds * 100).astype(np.int64)
    pence = np.where(draw.filled(n, 0.3), pence // 100 * 100, pence)
    unit_cost = _where(has_cost, _amount(pence))
    hourly = frequency == freq_values.index("Hourly")
    daily = frequency == freq_values.index("Daily")
    session = frequency == freq_values.index("Per session")
    units = np.where(
        hourly,
        rng.integers(4, 161, n) * 25,
        np.where(daily, rng.integers(1, 8, n) * 100, rng.integers(1, 11, n) * 100),
    )
    planned_units = _where(hourly | daily | (session & draw.filled(n, 0.5)), _amount(units))

    description_values = [d for type_name in event_values for d in DESCRIPTIONS[type_name]]
    per_type = len(DESCRIPTIONS[event_values[0]])
    description = np.where(
        event & draw.filled(n, 0.5),
        np.where(event, etype, 0) * per_type + rng.integers(0, per_type, n),
        BLANK,
    )
    serial = rng.integers(0, 10_000) * 10_000 + np.arange(n)
    reference = _where(
        event, _join("EV", _digits(serial // 10_000 % 100_000, 4), "-", _digits(serial % 10_000, 4))
    )

    # Assemble, person fields repeated on each of the person's rows.
    by_person = pa.array(person, pa.int64())

    def repeat(values: pa.Array) -> pa.Array:
        return values.take(by_person)

    def listed(field: str, idx: np.ndarray) -> pa.Array:
        return _text(lists.values(field), idx)

    cols["LA Code"] = pa.repeat(pa.scalar(LA_CODE), n)
    cols["Reporting Period Start Date"] = dates.text(np.full(n, p0))
    cols["Reporting Period End Date"] = dates.text(np.full(n, p1))
    cols["NHS Number"] = repeat(nhs_p)
    cols["LA Person Unique Identifier"] = repeat(id_p)
    cols["First Name"] = repeat(first_p)
    cols["Last Name"] = repeat(last_p)
    cols["GP Practice Code"] = repeat(gp_p)
    cols["Gender"] = listed("Gender", gender_p[person])
    cols["Ethnicity"] = listed(
        "Ethnicity",
        draw.pick(
            "Ethnicity",
            P,
            {
                "White: English, Welsh, Scottish, Northern Irish or British": 85,
                "White: Any other White background": 4,
                "No data: Undeclared or not known": 3,
            },
            default=0.4,
        )[person],
    )
    cols["Date of Birth"] = dates.text(dob)
    cols["Date of Death"] = dates.text(death)
    cols["Client Type"] = listed("Client Type", ctype)
    cols["Primary Support Reason"] = listed("Primary Support Reason", psr_p[person])
    cols["Postcode"] = repeat(postcode_p)
    cols["Accommodation Status"] = listed("Accommodation Status", accommodation_p[person])
    cols["Employment Status"] = listed("Employment Status", employment_p[person])
    cols["Has Unpaid Carer"] = listed("Has Unpaid Carer", has_carer_p[person])
    cols["Autism Spectrum Disorder (ASD)"] = listed("Autism Spectrum Disorder (ASD)", asd_p[person])
    cols["Visual Impairment"] = listed("Visual Impairment", visual_p[person])
    cols["Hearing Impairment"] = listed("Hearing Impairment", hearing_p[person])
    cols["Dementia"] = listed("Dementia", dementia_p[person])
    cols["Client Funding Status"] = listed("Client Funding Status", funding_p[person])
    cols["Event Type"] = listed("Event Type", etype)
    cols["Event Reference"] = reference
    cols["Event Start Date"] = dates.text(start)
    cols["Event End Date"] = dates.text(end)
    cols["Event Description"] = _text(description_values, description)
    cols["Event Outcome"] = listed("Event Outcome", outcome)
    cols["Request: Route of Access"] = listed("Request: Route of Access", route)
    cols["Assessment Type"] = listed("Assessment Type", assess_type)
    cols["Eligible Needs Identified"] = listed("Eligible Needs Identified", eligible)
    cols["Method of Assessment"] = listed("Method of Assessment", method)
    cols["Total Hrs Caring per week"] = listed("Total Hrs Caring per week", hours)
    cols["No. of adults being cared for"] = _where(adults > 0, _digits(adults))
    cols["Adult 1 Linked Person_ID"] = repeat(linked_p[0])
    cols["Adult 2 Linked Person_ID"] = repeat(linked_p[1])
    cols["Adult 3 Linked Person_ID"] = repeat(linked_p[2])
    cols["Service Type"] = listed("Service Type", stype)
    cols["Service Component"] = listed("Service Component", component)
    cols["Delivery Mechanism"] = listed("Delivery Mechanism", delivery)
    cols["Provider CQC Location ID"] = cqc
    cols["Review Reason"] = listed("Review Reason", reason)
    cols["Review Outcomes Achieved"] = listed("Review Outcomes Achieved", achieved)
    cols["Method of Review"] = listed("Method of Review", review_method)
    cols["Unit Cost"] = unit_cost
    cols["Cost Frequency (Unit Type)"] = listed("Cost Frequency (Unit Type)", frequency)
    cols["Planned units per week"] = planned_units

    missing = [h for h in spec.headers if h not in cols]
    extra = [c for c in cols if not spec.has_field(c)]
    if missing or extra:
        raise KeyError(f"generator columns differ from the spec: missing {missing}, extra {extra}")
    return pa.table({h: cols[h] for h in spec.headers})


def _quoted(column: pa.Array) -> pa.Array:
    """CSV quoting as Excel does it: only values holding a comma, a quote or a line break."""
    data = column.buffers()[2]
    raw = b"" if data is None else memoryview(data)
    if not any(bytes(raw).find(c) >= 0 for c in (b",", b'"', b"\r", b"\n")):
        return column  # most columns: one memchr pass over the text, no per-value work
    needs = pc.match_substring_regex(column, '[",\r\n]')
    escaped = _join('"', pc.replace_substring(column, '"', '""'), '"')
    return pc.if_else(needs, escaped, column)


def _lines(batch: pa.RecordBatch | pa.Table, eol: str) -> memoryview:
    """One batch as CSV text: each row's values joined by commas, each line ended by eol."""
    cols = [_quoted(batch.column(i).combine_chunks()) for i in range(batch.num_columns)]
    lines = pc.binary_join_element_wise(*cols, ",")
    lines = pc.binary_join_element_wise(lines, "", eol)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[first:last]


def write_csv(
    table: pa.Table,
    path: str | Path,
    *,
    quoting: str = "minimal",
    eol: str = "\r\n",
    batch_rows: int = 100_000,
) -> int:
    """Write the table as a CLD CSV; returns the file size in bytes.

    quoting "minimal" quotes only the values that need it, as Excel's 'CSV UTF-8' does (built
    with Arrow compute, a batch at a time, two batches at once); "all" is
    `pyarrow.csv.write_csv`, whose "needed" style quotes every text value (a bigger file than an
    LA would upload: about +18%).
    """
    path = Path(path)
    if quoting == "all":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path, pacsv.WriteOptions(eol=eol, batch_size=64 * 1024))
        return path.stat().st_size
    if quoting != "minimal":
        raise ValueError("quoting is 'minimal' or 'all'")
    header = ",".join(_quoted(pa.array(table.column_names)).to_pylist()) + eol
    from concurrent.futures import ThreadPoolExecutor

    batches = (table.slice(i, batch_rows) for i in range(0, table.num_rows, batch_rows))
    # Arrow's kernels release the GIL: two batches are built at once, written in order.
    with open(path, "wb") as out, ThreadPoolExecutor(max_workers=2) as pool:
        out.write(header.encode("utf-8"))
        for text in pool.map(lambda b: _lines(b, eol), batches):
            out.write(text)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=common.SEED)
    parser.add_argument("--out", help="CSV to write (default: a temporary file)")
    parser.add_argument("--quoting", choices=["minimal", "all"], default="minimal")
    parser.add_argument("--check", action="store_true", help="validate the file with cldetl")
    args = parser.parse_args(argv)

    began, cpu = time.perf_counter(), time.process_time()
    table = generate(args.rows, args.seed)
    built, built_cpu = time.perf_counter(), time.process_time()
    out = args.out or tempfile.mkstemp(prefix="cld_bench_", suffix=".csv")[1]
    size = write_csv(table, out, quoting=args.quoting)
    done, done_cpu = time.perf_counter(), time.process_time()
    print(
        f"{out}: {args.rows:,} rows, {size / 1e6:.1f} MB; generated in {built - began:.2f} s "
        f"({built_cpu - cpu:.2f} s CPU), written in {done - built:.2f} s "
        f"({done_cpu - built_cpu:.2f} s CPU)"
    )
    if not args.check:
        return 0
    from cldetl.validate import validate

    report = validate(out)
    print(f"validate: {report.errors} error(s), {report.warnings} warning(s)")
    by_rule = report.by_rule()
    if len(by_rule):
        print(by_rule.head(20).to_string(index=False))
        examples = report.findings.drop_duplicates("rule").head(20)
        print(examples[["line", "column", "rule", "value", "message"]].to_string(index=False))
    counts = report.counts
    for label in ("Event Type", "Client Type"):
        print(label, counts.get(label))
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
