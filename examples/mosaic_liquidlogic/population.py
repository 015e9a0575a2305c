"""The random population both example authorities share: people, their histories of contacts,
assessments, services and reviews, as abstract tables that each case system then lays out in
its own tables (`eastmoor.py` for Mosaic, `westvale.py` for LiquidLogic).

Everything is drawn with numpy over whole arrays (one draw per episode, service or person, never
a Python loop per row), from one seeded generator, so the same seed gives the same database and
the row count grows linearly with the number of people.

Dates are whole days since 1970-01-01 (int64); NULL is `NA_DAY`. Codes are abstract (the
`K_*`, `NA_*` ... names below); each system maps them to its own local codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NA_DAY = np.int64(-(10**9))
EPOCH = np.datetime64("1970-01-01", "D")


def day(text: str) -> int:
    """'2025-09-30' -> days since 1970-01-01."""
    return int((np.datetime64(text, "D") - EPOCH).astype(np.int64))


HISTORY_START = day("2022-01-01")
HISTORY_END = day("2026-12-31")
AGE_REFERENCE = day("2024-01-01")

# --- names, postcodes, identifiers -----------------------------------------------------------

# Synthetic people get ordinary names drawn at random; the story people (fixed ids 9000xx) have
# names nobody has. Names made only of the letters A-F are left out: the validator's privacy
# check looks for names inside hex event references.
FEMALE_NAMES = (
    "Mary Margaret Susan Linda Patricia Janet Joan Dorothy Irene Kathleen Sheila Brenda Pauline "
    "Jean Sandra Christine Elaine Valerie Julie Karen Helen Sarah Emma Laura Rachel Amy Hannah "
    "Priya Aisha Fatima Nusrat Mei Grace Olivia Sophie Lucy Megan Chloe Zainab Shirley Rita"
).split()
MALE_NAMES = (
    "John David Michael Peter Robert James William Richard Thomas Brian Kenneth Ronald Stephen "
    "Paul Mark Andrew Gary Kevin Ian Alan Colin Keith Trevor Graham Simon Martin Daniel Matthew "
    "Imran Tariq Rajesh Kwame Joseph Samuel Liam Jack Ryan Harry Owen Leslie Norman Stanley"
).split()
LAST_NAMES = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason "
    "Mitchell Rose Davis Rodriguez Cox Alexander Morgan Lee Martin Harris Moore Clark Turner "
    "Hughes Edwards Hill Ward Morris Cooper King Baker Harrison Young Allen Scott Bell Shaw "
    "Kaur Begum Hussain Ahmed Singh Akhtar Okafor Mensah Nowak Kowalski Murphy Kelly Ryan"
).split()

# Postcode inward letters (no C, I, K, M, O or V, as in real inward codes).
INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def postcodes(rng: np.random.Generator, n: int, area: str) -> np.ndarray:
    """n postcodes in a fictional area ('EM' -> 'EM4 7QX'): the format of a real postcode, in
    an area that does not exist."""
    district = rng.integers(1, 10, n).astype(str)
    sector = rng.integers(0, 10, n).astype(str)
    a = INWARD_LETTERS[rng.integers(0, len(INWARD_LETTERS), n)]
    b = INWARD_LETTERS[rng.integers(0, len(INWARD_LETTERS), n)]
    out = np.char.add(np.char.add(area, district), " ")
    return np.char.add(np.char.add(np.char.add(out, sector), a), b).astype(object)


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct NHS numbers in the 999 test range, each with a valid modulus 11 check digit."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        body = 999_000_000 + rng.integers(0, 1_000_000, 2 * n + 10)  # 9 digits: 999dddddd
        digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        total = (digits * np.arange(10, 1, -1)).sum(axis=1)
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        good = check != 10
        numbers = body[good] * 10 + check[good]
        out = np.unique(np.concatenate([out, numbers]))
    return rng.permutation(out)[:n].astype(str).astype(object)


def nhs_check(number9: str) -> str:
    """The full NHS number for a 9-digit body (for the hand-written story people)."""
    total = sum(int(d) * w for d, w in zip(number9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10:
        raise ValueError(f"{number9}: no valid check digit, pick another body")
    return f"{number9}{check}"


def iso(days) -> np.ndarray:
    """Day numbers -> 'YYYY-MM-DD' (None for NA_DAY), as an object array."""
    days = np.asarray(days, dtype=np.int64)
    # Few distinct days, many rows: format each distinct day once.
    distinct, inverse = np.unique(days, return_inverse=True)
    labels = distinct.clip(-100_000, 100_000).astype("datetime64[D]").astype(str).astype(object)
    labels[distinct == NA_DAY] = None
    return labels[inverse]


def dob_inside(dob_days, ids) -> np.ndarray:
    """Whether each integer id contains its owner's date of birth as ddmmyy, ddmmyyyy or
    yyyymmdd (whole-number windows of the id's digits, so leading zeros count)."""
    dob = np.asarray(dob_days, dtype=np.int64).astype("datetime64[D]")
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dob.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dob - dob.astype("datetime64[M]")).astype(np.int64) + 1
    forms = {
        6: [dom * 10_000 + month * 100 + year % 100],
        8: [dom * 1_000_000 + month * 10_000 + year, year * 10_000 + month * 100 + dom],
    }
    ids = np.asarray(ids, dtype=np.int64)
    hit = np.zeros(len(ids), dtype=bool)
    for width, values in forms.items():
        for shift in range(0, 12):
            window = (ids // 10**shift) % 10**width
            long_enough = ids >= 10 ** (width + shift - 1)
            for value in values:
                hit |= long_enough & (window == value)
    return hit


def choose(rng: np.random.Generator, options: dict[str, float], n: int) -> np.ndarray:
    """n draws from {code: weight}."""
    codes = np.array(list(options), dtype=object)
    weights = np.array(list(options.values()), dtype=float)
    return codes[rng.choice(len(codes), n, p=weights / weights.sum())]


def rint(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """Integers in [low, high] inclusive."""
    return rng.integers(low, high + 1, n).astype(np.int64)


# --- abstract codes --------------------------------------------------------------------------
# Next actions (what an assessment, contact or review led to).
NEXT_ACTIONS = (
    "START_C1 START_C2 START_C3 START_CARER REFER_REAB ARRANGE_SERVICES CHANGE_SERVICES "
    "CONTINUE_SERVICES NFA_IA NFA_OTHER_SERVICE NFA_DECLINED NFA_NHS NFA_NO_ELIGIBLE NFA_DECEASED "
    "NFA_MOVED HOSPITAL NFA_SELF_FUNDING NFA_ENDED CLOSE_OTHER LOCAL_COMMUNITY"
).split()
# Activity kinds (steps in Mosaic; contacts and forms in LiquidLogic).
KINDS = (
    "contact c1 c2 c3 ot carer_assess financial review carer_review safeguarding dols mha mca "
    "child closure"
).split()


@dataclass
class Population:
    """Abstract tables; one row per entity, codes abstract, dates as day numbers."""

    people: pd.DataFrame
    psr: pd.DataFrame
    addresses: pd.DataFrame
    activities: pd.DataFrame
    services: pd.DataFrame
    relationships: pd.DataFrame


# --- the generator ---------------------------------------------------------------------------


def build_population(n_people: int, seed: int, area: str, first_person_id: int) -> Population:
    """A random population of `n_people` (about 20% unpaid carers) with 2022-2026 histories."""
    rng = np.random.default_rng(seed)
    n = max(int(n_people), 2)
    people = _people(rng, n, first_person_id)
    su = people.index[people["role"].eq("SU")].to_numpy()
    episodes = _episodes(rng, people, su)
    services, reviews, fin = _services(rng, people, episodes)
    carers = people.index[people["role"].eq("CARER")].to_numpy()
    rel, carer_acts, carer_services, joint_c3 = _carers(rng, people, carers, episodes, services)
    episodes.loc[joint_c3, "c3_method"] = "JOINT"
    activities = _activities(rng, people, episodes, reviews, fin, carer_acts)
    services = pd.concat([services, carer_services], ignore_index=True)
    services = _respite(rng, people, rel, services)
    activities = pd.concat([activities, _out_of_scope(rng, people, su)], ignore_index=True)
    people = _has_carer(rng, people, rel)
    activities, services = _deaths(rng, people, activities, services)
    services = _split_lines(rng, services)
    for column in ("casual", "at_contact", "legacy"):
        activities[column] = activities[column].astype("boolean").fillna(False).astype(bool)
    for column in ("episode", "joint_episode"):
        activities[column] = activities[column].fillna(-1).astype(np.int64)
    psr = _psr(rng, people)
    addresses = _addresses(rng, people, services, area)
    return Population(
        people=people.reset_index(drop=True),
        psr=psr,
        addresses=addresses,
        activities=activities.reset_index(drop=True),
        services=services.reset_index(drop=True),
        relationships=rel,
    )


def _people(rng, n, first_id) -> pd.DataFrame:
    role = np.where(rng.random(n) < 0.2, "CARER", "SU").astype(object)
    carer = role == "CARER"
    sex = choose(rng, {"F": 0.545, "M": 0.43, "O": 0.005, "U": 0.012, "I": 0.008}, n)
    young = rng.random(n) < 0.3
    age_su = np.where(young, rng.uniform(18, 65, n), 65 + np.minimum(rng.exponential(13, n), 37))
    age_carer = np.where(rng.random(n) < 0.02, rng.uniform(14, 17.5, n), rng.uniform(25, 86, n))
    age = np.where(carer, age_carer, age_su)
    dob = (AGE_REFERENCE - age * 365.25).astype(np.int64)
    female = sex == "F"
    first = np.where(
        female,
        np.array(FEMALE_NAMES, dtype=object)[rng.integers(0, len(FEMALE_NAMES), n)],
        np.array(MALE_NAMES, dtype=object)[rng.integers(0, len(MALE_NAMES), n)],
    )
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    nhs = nhs_numbers(rng, n)
    nhs[rng.random(n) < 0.03] = None
    ethnicity = choose(
        rng,
        {
            "WBRI": 78,
            "WIRI": 1.5,
            "WOTH": 4,
            "WIRT": 0.3,
            "WROM": 0.3,
            "MWBC": 0.6,
            "MWBA": 0.3,
            "MWAS": 0.5,
            "MOTH": 0.4,
            "AIND": 2.5,
            "APKN": 2.5,
            "ABAN": 0.8,
            "CHNE": 0.5,
            "AOTH": 0.8,
            "BCRB": 1,
            "BAFR": 1.5,
            "BOTH": 0.3,
            "OARB": 0.3,
            "OOTH": 0.5,
            "REFU": 0.6,
            "NOBT": 2.2,
            "WEUR": 0.6,
        },
        n,
    )
    old = age >= 65
    employment = np.where(
        old,
        choose(rng, {"RETIRED": 0.8, "UNKNOWN": 0.2}, n),
        choose(
            rng,
            {
                "FT": 0.12,
                "PT": 0.1,
                "PAID": 0.03,
                "SEEKING": 0.12,
                "NOTSEEKING": 0.4,
                "VOLUNTARY": 0.05,
                "UNKNOWN": 0.18,
            },
            n,
        ),
    )
    employment[rng.random(n) < 0.05] = None
    frame = pd.DataFrame(
        {
            "person_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "role": role,
            "first": first,
            "last": last,
            "sex": sex,
            "dob": dob,
            "dod": np.full(n, NA_DAY),
            "nhs": nhs,
            "ethnicity": ethnicity,
            "gp": choose(rng, {f"E9{i:04d}": 1 for i in range(1, 16)}, n),
            "employment": employment,
            "asd": choose(rng, {"Y": 0.03, "N": 0.75, None: 0.22}, n),
            "dementia": np.where(
                old,
                choose(rng, {"Y": 0.15, "N": 0.7, None: 0.15}, n),
                choose(rng, {"Y": 0.01, "N": 0.8, None: 0.19}, n),
            ),
            "sight": choose(
                rng, {"SSI": 0.02, "SI": 0.03, "NONE": 0.75, "VI": 0.02, None: 0.18}, n
            ),
            "hearing": choose(
                rng,
                {"DWS": 0.005, "DWOS": 0.003, "HOH": 0.06, "NONE": 0.72, "HI": 0.01, None: 0.2},
                n,
            ),
            "psr": choose(
                rng,
                {
                    "PC": 52,
                    "AM": 9,
                    "MEM": 10,
                    "LD": 8,
                    "MH": 11,
                    "ISO": 4,
                    "VI": 1,
                    "HI": 0.7,
                    "DUAL": 0.3,
                    "SUB": 1,
                    "ASY": 0.3,
                    "FRAIL": 1.2,
                    "UNK": 2,
                },
                n,
            ),
            "accommodation": choose(
                rng,
                {
                    "OWN": 44,
                    "TENLA": 16,
                    "TENPR": 8,
                    "FAM": 12,
                    "SUPP": 4,
                    "SHELT": 6,
                    "TEMP": 0.5,
                    "ROUGH": 0.3,
                    "HMO": 0.7,
                    "UNK": 5,
                },
                n,
            ),
        }
    )
    # Learning disability and mental health are younger people's PSRs more often.
    ld = (frame["psr"].eq("LD") & (age >= 65)).to_numpy() & (rng.random(n) < 0.7)
    frame.loc[ld, "psr"] = "PC"
    return frame


def _episodes(rng, people, su) -> pd.DataFrame:
    """One row per episode of contact with adult social care (a service user's pathway)."""
    extra = su[rng.random(len(su)) < 0.4]
    person = np.concatenate([su, extra])
    n = len(person)
    t0 = rint(rng, HISTORY_START, HISTORY_END - 45, n)
    t0 = np.maximum(t0, people["dob"].to_numpy()[person] + int(17.6 * 365.25))
    ep = pd.DataFrame({"person": person, "t0": t0})
    ep["route"] = choose(
        rng,
        {
            "COMM": 55,
            "HOSP_DIS": 20,
            "HOSP_DIV": 4,
            "TRANS": 1,
            "PRISON": 0.3,
            "SELF": 3,
            "REAB_DIS": 4,
            "OTHER_LA": 2,
            "GP": 3,
            None: 1,
        },
        n,
    )
    ep["casual"] = rng.random(n) < 0.03
    u = rng.random(n)
    ep["contact_nfa"] = u < 0.25
    ep["contact_na"] = np.where(
        ep["contact_nfa"],
        choose(
            rng,
            {
                "NFA_IA": 0.6,
                "NFA_OTHER_SERVICE": 0.15,
                "NFA_NHS": 0.1,
                "NFA_DECLINED": 0.1,
                "LOCAL_COMMUNITY": 0.05,
            },
            n,
        ),
        "START_C1",
    )
    c1 = ~ep["contact_nfa"].to_numpy() & ~ep["casual"].to_numpy()
    ep["c1"] = c1
    ep["at_contact"] = c1 & (rng.random(n) < 0.5)
    ep["c1_start"] = t0 + np.where(ep["at_contact"], 0, rint(rng, 0, 3, n))
    ep["c1_end"] = ep["c1_start"] + rint(rng, 0, 21, n)
    r = rng.random(n)
    c1_nfa = c1 & (r < 0.45)
    c2 = c1 & (r >= 0.45) & (r < 0.65)
    c3_from_c1 = c1 & (r >= 0.65)
    ep["c1_na"] = np.where(
        c1_nfa,
        choose(
            rng,
            {"NFA_IA": 0.7, "NFA_OTHER_SERVICE": 0.1, "NFA_NO_ELIGIBLE": 0.1, "NFA_DECLINED": 0.1},
            n,
        ),
        np.where(c2, "START_C2", "START_C3"),
    )
    ep["c2"] = c2
    ep["c2_start"] = ep["c1_end"] + rint(rng, 0, 5, n)
    ep["c2_end"] = ep["c2_start"] + rint(rng, 5, 40, n)
    reab = c2 & (rng.random(n) < 0.6)
    c3_from_c2 = c2 & (rng.random(n) < 0.5)
    ep["reab"] = reab
    ep["c2_na"] = np.where(reab, "REFER_REAB", np.where(c3_from_c2, "START_C3", "NFA_IA"))
    ep["c2_na2"] = np.where(reab & c3_from_c2, "START_C3", None)
    c3 = c3_from_c1 | c3_from_c2
    ep["c3"] = c3
    ep["c3_start"] = np.where(c3_from_c2, ep["c2_end"], ep["c1_end"]) + rint(rng, 1, 14, n)
    ep["c3_end"] = ep["c3_start"] + rint(rng, 7, 60, n)
    ep["elig"] = choose(rng, {"ELIG": 0.8, "NONELIG": 0.1, "NONE": 0.1}, n)
    declined = rng.random(n) < 0.05
    ep["lt"] = c3 & ep["elig"].eq("ELIG").to_numpy() & ~declined
    ep["c3_na"] = np.where(
        ep["lt"],
        "ARRANGE_SERVICES",
        np.where(
            ep["elig"].eq("ELIG"),
            "NFA_DECLINED",
            np.where(ep["elig"].eq("NONELIG"), "NFA_NO_ELIGIBLE", "NFA_IA"),
        ),
    )
    ep["c3_method"] = "SU"
    # One team still uses the old outcome form: a Release 1 text instead of next actions.
    ep["legacy_outcome"] = rng.random(n) < 0.02
    ep["ot"] = ~ep["casual"].to_numpy() & (rng.random(n) < 0.12)
    ep["ot_start"] = t0 + rint(rng, 3, 30, n)
    ep["ot_end"] = ep["ot_start"] + rint(rng, 1, 20, n)
    return ep


LT_KINDS = {"HC": 55, "RES": 19, "NUR": 8, "SL": 4, "ECH": 3, "SLS": 2, "DP": 6, "DAY": 3}
COSTS = {  # kind: (low, high, frequency, units low, units high)
    "HC": (19.5, 26.0, "H", 3, 28),
    "RES": (720.0, 1150.0, "W", 0, 0),
    "NUR": (880.0, 1450.0, "W", 0, 0),
    "SL": (850.0, 1900.0, "W", 0, 0),
    "ECH": (280.0, 620.0, "W", 0, 0),
    "SLS": (380.0, 640.0, "W", 0, 0),
    "DP": (140.0, 420.0, "W", 0, 0),
    "DAY": (42.0, 72.0, "D", 1, 5),
    "MEALS": (4.5, 7.5, "S", 5, 7),
}


def _service_frame(person, kind, start, end, reason, delivery, provider, rng) -> pd.DataFrame:
    n = len(person)
    frame = pd.DataFrame(
        {
            "person": person,
            "kind": kind,
            "start": start,
            "end": end,
            "end_reason": reason,
            "delivery": delivery,
            "provider": provider,
        }
    )
    info = pd.DataFrame.from_dict(
        COSTS, orient="index", columns=["low", "high", "freq", "ulow", "uhigh"]
    )
    joined = info.reindex(frame["kind"].to_numpy())
    u = rng.random(n)
    cost = joined["low"].to_numpy() + u * (joined["high"].to_numpy() - joined["low"].to_numpy())
    frame["unit_cost"] = np.round(cost, 2)
    frame["freq"] = joined["freq"].to_numpy()
    units = joined["ulow"].to_numpy() + np.floor(
        rng.random(n) * (joined["uhigh"].to_numpy() - joined["ulow"].to_numpy() + 1)
    )
    frame["units"] = np.where(joined["freq"].isin(["H", "D", "S"]).to_numpy(), units, np.nan)
    frame["status"] = None
    frame["funding"] = "LA"
    frame["team"] = "ADULT"
    frame["linked"] = -1
    return frame


def _services(rng, people, ep):
    """Service lines, reviews and financial assessments of the episodes that led to support."""
    eps = ep.index.to_numpy()
    frames = []
    # Reablement after conversation 2.
    reab = eps[ep["reab"].to_numpy()]
    start = ep.loc[reab, "c2_end"].to_numpy() + rint(rng, 1, 7, len(reab))
    frames.append(
        _service_frame(
            ep.loc[reab, "person"].to_numpy(),
            "REAB",
            start,
            start + rint(rng, 14, 42, len(reab)),
            "PLANNED",
            "COMM",
            choose(rng, {"PR10": 1, "PR11": 1}, len(reab)),
            rng,
        ).assign(unit_cost=np.nan, freq=None, units=np.nan)
    )
    # Equipment after an OT assessment (ongoing low level: ends when delivered).
    ot = eps[ep["ot"].to_numpy() & (rng.random(len(ep)) < 0.8)]
    start = ep.loc[ot, "ot_end"].to_numpy() + rint(rng, 2, 20, len(ot))
    frames.append(
        _service_frame(
            ep.loc[ot, "person"].to_numpy(),
            choose(rng, {"EQUIP": 0.8, "TELE": 0.2}, len(ot)),
            start,
            start,
            "PLANNED",
            "COMM",
            "PR20",
            rng,
        ).assign(unit_cost=np.nan, freq=None, units=np.nan)
    )
    # Long term support after an eligible conversation 3 / Care Act assessment.
    lt = eps[ep["lt"].to_numpy()]
    n = len(lt)
    kind = choose(rng, LT_KINDS, n)
    start = ep.loc[lt, "c3_end"].to_numpy() + rint(rng, 3, 30, n)
    care_home = np.isin(kind, ["RES", "NUR"])
    length = np.where(care_home, rng.exponential(900, n), rng.exponential(700, n)).astype(np.int64)
    end = start + 30 + length
    reason = choose(
        rng,
        {
            "PLANNED": 30,
            "MOVED": 8,
            "CHC": 5,
            "HOSP": 5,
            "OTHER": 22,
            "DECLINED": 4,
            "SELF": 6,
            "DIED": 20,
        },
        n,
    )
    reason = np.where(~care_home & (reason == "SELF"), "OTHER", reason)
    end = np.where(end > HISTORY_END, NA_DAY, end)
    reason = np.where(end == NA_DAY, None, reason)
    delivery = np.where(
        care_home,
        "MPB",
        np.where(kind == "DP", "DP", choose(rng, {"MPB": 0.82, "DP": 0.12, "COMM": 0.06}, n)),
    )
    delivery = np.where(kind == "SL", "MPB", delivery)
    provider = np.where(
        care_home,
        choose(rng, {f"PR{i}": 1 for i in range(30, 48)}, n),
        choose(rng, {f"PR{i}": 1 for i in range(50, 66)}, n),
    )
    main = _service_frame(
        ep.loc[lt, "person"].to_numpy(), kind, start, end, reason, delivery, provider, rng
    )
    main["episode"] = lt
    frames.append(main)
    # A second line with another delivery mechanism: day support by direct payment, or meals.
    second = (kind == "HC") & (rng.random(n) < 0.25)
    s2 = start[second] + rint(rng, 7, 60, int(second.sum()))
    k2 = choose(rng, {"DAY": 0.7, "MEALS": 0.3}, int(second.sum()))
    frames.append(
        _service_frame(
            ep.loc[lt[second], "person"].to_numpy(),
            k2,
            s2,
            np.where(end[second] == NA_DAY, NA_DAY, end[second]),
            reason[second],
            np.where(k2 == "DAY", "DP", "MPB"),
            choose(rng, {f"PR{i}": 1 for i in range(70, 76)}, len(s2)),
            rng,
        )
    )
    services = pd.concat(frames, ignore_index=True)
    bad_end = (services["end"].to_numpy() != NA_DAY) & (
        services["end"].to_numpy() < services["start"].to_numpy()
    )
    services.loc[bad_end, "end"] = services.loc[bad_end, "start"]
    services = services[services["start"].to_numpy() <= HISTORY_END].reset_index(drop=True)
    # Fully NHS-funded placements, children's services during transition, cancelled lines,
    # and lines that ended the day before they began (cancelled before any support).
    m = len(services)
    home = services["kind"].isin(["RES", "NUR"]).to_numpy()
    services.loc[home & (rng.random(m) < 0.03), "funding"] = "CHC"
    services.loc[rng.random(m) < 0.005, "team"] = "CHILD"
    cancelled = rng.random(m) < 0.02
    services.loc[cancelled, "status"] = "CANCELLED"
    services.loc[cancelled, "end"] = NA_DAY
    services.loc[cancelled, "end_reason"] = None
    never = ~cancelled & (rng.random(m) < 0.006)
    services.loc[never, "end"] = services.loc[never, "start"] - 1
    services.loc[never, "end_reason"] = "DECLINED"
    # Suspended (in hospital): the system records the suspension date as the line's end.
    open_ = services["end"].eq(NA_DAY).to_numpy() & ~cancelled
    suspended = open_ & services["kind"].isin(["HC", "DAY"]).to_numpy() & (rng.random(m) < 0.04)
    services.loc[suspended, "status"] = "SUSPENDED"
    services.loc[suspended, "end"] = np.maximum(
        services.loc[suspended, "start"].to_numpy() + 20,
        HISTORY_END - rint(rng, 10, 300, int(suspended.sum())),
    )
    services.loc[suspended, "end_reason"] = "SUSPENDED"
    # Provider changes: the line ends and a new one starts with the new provider.
    change = (
        services["kind"].eq("HC").to_numpy()
        & ~cancelled
        & ~never
        & ~suspended
        & (rng.random(m) < 0.08)
    )
    last = np.where(services["end"].to_numpy() == NA_DAY, HISTORY_END, services["end"].to_numpy())
    room = last - services["start"].to_numpy()
    change &= room > 120
    idx = np.flatnonzero(change)
    cut = (
        services["start"].to_numpy()[idx]
        + 60
        + (rng.random(len(idx)) * (room[idx] - 90)).astype(np.int64)
    )
    after = services.iloc[idx].copy()
    after["start"] = cut
    after["provider"] = choose(rng, {f"PR{i}": 1 for i in range(50, 66)}, len(idx))
    after["unit_cost"] = np.round(
        after["unit_cost"].to_numpy() * rng.uniform(0.97, 1.06, len(idx)), 2
    )
    services.loc[idx, "end"] = cut - 1
    services.loc[idx, "end_reason"] = "PROVIDER_CHANGE"
    services = pd.concat([services, after], ignore_index=True)

    # Reviews: a six-week review, then annual ones while the service runs.
    keep = main.index.to_numpy()
    base = main.loc[keep]
    k = np.arange(0, 5)
    rep = np.repeat(np.arange(len(base)), len(k))
    kk = np.tile(k, len(base))
    rstart = base["start"].to_numpy()[rep] + np.where(
        kk == 0, 42 + rint(rng, 0, 14, len(rep)), 365 * kk + rint(rng, -30, 30, len(rep))
    )
    rend = rstart + rint(rng, 0, 14, len(rep))
    send = base["end"].to_numpy()[rep]
    alive = (send == NA_DAY) | (rend < send)
    alive &= rend <= HISTORY_END + 20
    reviews = pd.DataFrame(
        {
            "person": base["person"].to_numpy()[rep][alive],
            "start": rstart[alive],
            "end": rend[alive],
            "six_week": (kk == 0)[alive],
        }
    )
    nr = len(reviews)
    reviews["reason"] = np.where(
        reviews["six_week"],
        "PLANNED",
        choose(
            rng,
            {
                "PLANNED": 80,
                "HOSP": 8,
                "CARER": 3,
                "SAFEG": 2,
                "OTHER": 5,
                "PROVIDER": 1,
                "COMMISSIONING": 1,
            },
            nr,
        ),
    )
    reviews["met"] = np.where(
        reviews["six_week"], "NA", choose(rng, {"FULL": 50, "PART": 35, "NOT": 10, "NA": 5}, nr)
    )
    reviews.loc[~reviews["reason"].eq("PLANNED") & (rng.random(nr) < 0.5), "met"] = "NA"
    reviews["na"] = choose(
        rng, {"CONTINUE_SERVICES": 70, "CHANGE_SERVICES": 20, "START_C3": 5, "NFA_ENDED": 5}, nr
    )
    reviews["method"] = choose(rng, {"SU": 0.72, "JOINT": 0.25, "CARER": 0.03}, nr)
    # Financial assessments for people starting long term support.
    fin_start = base["start"].to_numpy() - rint(rng, 0, 10, len(base))
    fin = pd.DataFrame(
        {
            "person": base["person"].to_numpy(),
            "start": fin_start,
            "end": fin_start + rint(rng, 5, 40, len(base)),
            "funding": choose(rng, {"FULL_LA": 30, "JOINT": 55, "FULL_CLIENT": 15}, len(base)),
        }
    )
    return services, reviews, fin


def _carers(rng, people, carers, ep, services):
    """Each unpaid carer cares for a service user; their own requests, assessments (some joint
    with the cared-for person's), services and reviews."""
    lt_eps = ep.index[ep["lt"].to_numpy()].to_numpy()
    n = len(carers)
    if n == 0 or len(lt_eps) == 0:
        empty = pd.DataFrame(columns=["carer", "cared_for", "start", "end"])
        return empty, pd.DataFrame(), services.iloc[0:0].copy(), np.array([], dtype=np.int64)
    chosen = lt_eps[rng.integers(0, len(lt_eps), n)]
    cared = ep.loc[chosen, "person"].to_numpy()
    c3_start = ep.loc[chosen, "c3_start"].to_numpy()
    c3_end = ep.loc[chosen, "c3_end"].to_numpy()
    rel = pd.DataFrame(
        {
            "carer": people["person_id"].to_numpy()[carers],
            "cared_for": people["person_id"].to_numpy()[cared],
            "carer_row": carers,
            "cared_row": cared,
            "start": c3_start - rint(rng, 30, 700, n),
            "end": np.full(n, NA_DAY),
        }
    )
    # A second cared-for adult for a few carers.
    two = rng.random(n) < 0.08
    other = lt_eps[rng.integers(0, len(lt_eps), int(two.sum()))]
    rel2 = pd.DataFrame(
        {
            "carer": rel["carer"].to_numpy()[two],
            "cared_for": people["person_id"].to_numpy()[ep.loc[other, "person"].to_numpy()],
            "carer_row": carers[two],
            "cared_row": ep.loc[other, "person"].to_numpy(),
            "start": rel["start"].to_numpy()[two],
            "end": np.full(int(two.sum()), NA_DAY),
        }
    )
    rel_all = pd.concat([rel, rel2], ignore_index=True)
    rel_all = rel_all[rel_all["carer"].ne(rel_all["cared_for"])].drop_duplicates(
        ["carer", "cared_for"]
    )

    joint = rng.random(n) < 0.4
    contact = np.where(
        joint, c3_start - rint(rng, 0, 10, n), rint(rng, HISTORY_START, HISTORY_END - 60, n)
    )
    contact = np.maximum(contact, people["dob"].to_numpy()[carers] + int(12 * 365.25))
    a_start = np.maximum(np.where(joint, c3_start, contact + rint(rng, 0, 14, n)), contact)
    a_end = np.maximum(np.where(joint, c3_end, a_start + rint(rng, 5, 40, n)), a_start)
    elig = choose(rng, {"ELIG": 0.6, "NONELIG": 0.2, "NONE": 0.2}, n)
    hours = choose(
        rng, {"H1_9": 10, "H10_19": 15, "H20_34": 20, "H35_49": 20, "H50P": 30, None: 5}, n
    )
    adults = np.where(two, 2, 1) + (rng.random(n) < 0.05)
    served = (elig == "ELIG") & (rng.random(n) < 0.6)
    acts = []
    base = dict(person=carers, client_group="CARER", hours=hours, adults=adults)
    acts.append(
        pd.DataFrame(
            dict(
                base,
                kind="contact",
                start=contact,
                end=contact,
                route=None,
                na1=np.where(joint, "START_CARER", "START_CARER"),
                casual=False,
            )
        )
    )
    acts.append(
        pd.DataFrame(
            dict(
                base,
                kind="carer_assess",
                start=a_start,
                end=a_end,
                elig=elig,
                joint_episode=np.where(joint, chosen, -1),
                method=np.where(joint, "JOINT", "CARER"),
                na1=np.where(
                    served, "ARRANGE_SERVICES", np.where(elig == "ELIG", "NFA_DECLINED", "NFA_IA")
                ),
            )
        )
    )
    # Carer's direct payments (mostly one-off) and a carers' support service.
    sv = np.flatnonzero(served)
    m = len(sv)
    sstart = a_end[sv] + rint(rng, 5, 25, m)
    one_off = rng.random(m) < 0.7
    cdp = pd.DataFrame(
        {
            "person": carers[sv],
            "kind": "CDP",
            "start": sstart,
            "end": np.where(one_off, sstart, NA_DAY),
            "end_reason": np.where(one_off, "PLANNED", None),
            "delivery": "DP",
            "provider": None,
            "unit_cost": np.where(
                one_off, np.round(rng.uniform(150, 650, m), 0), np.round(rng.uniform(60, 180, m), 2)
            ),
            "freq": np.where(one_off, "O", "M"),
            "units": np.nan,
            "status": None,
            "funding": "LA",
            "team": "ADULT",
            "linked": people["person_id"].to_numpy()[cared[sv]],
        }
    )
    groups = rng.random(m) < 0.2
    csup = cdp[groups].assign(
        kind="CSUP",
        delivery="COMM",
        provider="PR80",
        unit_cost=np.nan,
        freq=None,
        end=NA_DAY,
        end_reason=None,
    )
    csup["start"] = csup["start"] + 14
    csup_end = csup["start"].to_numpy() + rint(rng, 60, 500, len(csup))
    csup["end"] = np.where(csup_end > HISTORY_END, NA_DAY, csup_end)
    csup["end_reason"] = np.where(csup["end"].to_numpy() == NA_DAY, None, "PLANNED")
    carer_services = pd.concat([cdp, csup], ignore_index=True)
    # Annual carers' reviews for those with support.
    k = np.arange(1, 4)
    rep = np.repeat(np.arange(m), len(k))
    rstart = a_end[sv][rep] + 365 * np.tile(k, m) + rint(rng, -20, 20, len(rep))
    keep = rstart <= HISTORY_END
    acts.append(
        pd.DataFrame(
            {
                "person": carers[sv][rep][keep],
                "client_group": "CARER",
                "kind": "carer_review",
                "start": rstart[keep],
                "end": rstart[keep] + rint(rng, 0, 10, int(keep.sum())),
                "method": "CARER",
                "met": choose(rng, {"FULL": 0.6, "PART": 0.3, "NA": 0.1}, int(keep.sum())),
                "na1": "CONTINUE_SERVICES",
                "hours": hours[sv][rep][keep],
                "adults": adults[sv][rep][keep],
            }
        )
    )
    carer_acts = pd.concat(acts, ignore_index=True)
    return rel_all, carer_acts, carer_services, chosen[joint]


def _activities(rng, people, ep, reviews, fin, carer_acts) -> pd.DataFrame:
    """All contacts, assessments and reviews as one table of activities."""
    parts = []
    client = dict(client_group="SU")
    e = ep
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=e["person"],
                kind="contact",
                start=e["t0"],
                end=e["t0"] + (rng.random(len(e)) < 0.2) * rint(rng, 1, 3, len(e)),
                route=e["route"],
                na1=e["contact_na"],
                casual=e["casual"],
                at_contact=e["at_contact"],
            )
        )
    )
    c1 = e[e["c1"]]
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=c1["person"],
                kind="c1",
                start=c1["c1_start"],
                end=c1["c1_end"],
                na1=c1["c1_na"],
                at_contact=c1["at_contact"],
                route=c1["route"],
                method="SU",
                legacy=c1["legacy_outcome"],
            )
        )
    )
    c2 = e[e["c2"]]
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=c2["person"],
                kind="c2",
                start=c2["c2_start"],
                end=c2["c2_end"],
                na1=c2["c2_na"],
                na2=c2["c2_na2"],
                method="SU",
            )
        )
    )
    c3 = e[e["c3"]]
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=c3["person"],
                kind="c3",
                episode=c3.index.to_numpy(),
                start=c3["c3_start"],
                end=c3["c3_end"],
                na1=c3["c3_na"],
                elig=c3["elig"],
                method=c3["c3_method"],
                legacy=c3["legacy_outcome"],
            )
        )
    )
    ot = e[e["ot"]]
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=ot["person"],
                kind="ot",
                start=ot["ot_start"],
                end=ot["ot_end"],
                na1="ARRANGE_SERVICES",
                method="SU",
            )
        )
    )
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=fin["person"],
                kind="financial",
                start=fin["start"],
                end=fin["end"],
                funding=fin["funding"],
            )
        )
    )
    parts.append(
        pd.DataFrame(
            dict(
                client,
                person=reviews["person"],
                kind="review",
                start=reviews["start"],
                end=reviews["end"],
                reason=reviews["reason"],
                met=reviews["met"],
                na1=reviews["na"],
                method=reviews["method"],
            )
        )
    )
    if len(carer_acts):
        parts.append(carer_acts)
    acts = pd.concat(parts, ignore_index=True)
    for column in ("casual", "at_contact", "legacy"):
        acts[column] = acts[column].astype("boolean").fillna(False).astype(bool)
    return acts


def _out_of_scope(rng, people, su) -> pd.DataFrame:
    """Safeguarding enquiries, DoLS, Mental Health Act and mental capacity assessments, and
    children's social care assessments: in the case system, never in CLD."""
    parts = []
    for kind, p, low, high in (
        ("safeguarding", 0.05, 5, 60),
        ("dols", 0.04, 10, 90),
        ("mha", 0.02, 1, 7),
        ("mca", 0.03, 1, 20),
        ("child", 0.006, 20, 60),
    ):
        who = su[rng.random(len(su)) < p]
        start = rint(rng, HISTORY_START, HISTORY_END - 30, len(who))
        start = np.maximum(start, people["dob"].to_numpy()[who] + int(16.5 * 365.25))
        parts.append(
            pd.DataFrame(
                {
                    "person": who,
                    "kind": kind,
                    "start": start,
                    "end": start + rint(rng, low, high, len(who)),
                    "client_group": "SU",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _respite(rng, people, rel, services) -> pd.DataFrame:
    """Respite for unpaid carers, recorded only on the cared-for person's record."""
    if rel.empty:
        return services
    cared = rel.drop_duplicates("cared_for")
    lt = services[services["kind"].isin(["HC", "DAY", "SL"]) & services["status"].isna()]
    lt = lt.drop_duplicates("person").set_index("person")
    has = cared["cared_row"].isin(lt.index).to_numpy() & (rng.random(len(cared)) < 0.3)
    rows = cared[has]
    svc = lt.loc[rows["cared_row"].to_numpy()]
    last = np.where(svc["end"].to_numpy() == NA_DAY, HISTORY_END, svc["end"].to_numpy())
    span = np.maximum(last - svc["start"].to_numpy() - 30, 1)
    start = svc["start"].to_numpy() + 14 + (rng.random(len(rows)) * span).astype(np.int64)
    n = len(rows)
    respite = pd.DataFrame(
        {
            "person": rows["cared_row"].to_numpy(),
            "kind": "RESPITE",
            "start": start,
            "end": start + rint(rng, 6, 13, n),
            "end_reason": "PLANNED",
            "delivery": "MPB",
            "provider": choose(rng, {f"PR{i}": 1 for i in range(30, 48)}, n),
            "unit_cost": np.round(rng.uniform(600, 950, n), 2),
            "freq": "W",
            "units": np.nan,
            "status": None,
            "funding": "LA",
            "team": "ADULT",
            "linked": -1,
        }
    )
    respite = respite[respite["start"].to_numpy() <= HISTORY_END - 14]
    return pd.concat([services, respite], ignore_index=True)


def _has_carer(rng, people, rel) -> pd.DataFrame:
    n = len(people)
    has = choose(rng, {"N": 0.65, "U": 0.25, "Y": 0.1}, n)
    cared = np.isin(np.arange(n), rel["cared_row"].to_numpy()) if len(rel) else np.zeros(n, bool)
    has = np.where(cared, "Y", has)
    has[rng.random(n) < 0.03] = None
    return people.assign(has_carer=has)


def _deaths(rng, people, acts, services):
    """Some people die during the history: nothing starts after, what was under way at the
    death is cancelled (mostly; some are left for the transform to catch), services end."""
    n = len(people)
    dob = people["dob"].to_numpy()
    age = (AGE_REFERENCE - dob) / 365.25
    su = people["role"].eq("SU").to_numpy()
    p = np.where(su, np.where(age > 80, 0.28, np.where(age > 65, 0.12, 0.03)), 0.02)
    first = acts.groupby("person")["start"].min().reindex(np.arange(n)).to_numpy()
    has_acts = ~np.isnan(first)
    first = np.where(has_acts, first, HISTORY_START).astype(np.int64)
    died = (rng.random(n) < p) & has_acts
    dod = first + 30 + (rng.random(n) * (HISTORY_END + 200 - first)).astype(np.int64)
    died &= dod <= HISTORY_END
    dod = np.where(died, dod, NA_DAY)
    # Residents of care homes whose services ended as 'DIED' die then.
    gone = services[services["end_reason"].eq("DIED")]
    dod_people = people.assign(dod=dod)
    by_service = gone.groupby("person")["end"].min()
    dod_people.loc[by_service.index, "dod"] = np.where(
        dod_people.loc[by_service.index, "dod"].to_numpy() == NA_DAY,
        by_service.to_numpy(),
        np.minimum(dod_people.loc[by_service.index, "dod"].to_numpy(), by_service.to_numpy()),
    )
    dod = dod_people["dod"].to_numpy()
    # Services still shown as ended by death but where the person did not die: other reason.
    person_dod = dod[services["person"].to_numpy()]
    services.loc[
        services["end_reason"].eq("DIED").to_numpy() & (person_dod == NA_DAY), "end_reason"
    ] = "OTHER"
    # Activities: drop what starts after the death; cancel (or leave for the transform) what
    # was under way.
    a_dod = dod[acts["person"].to_numpy()]
    dead = a_dod != NA_DAY
    after = dead & (acts["start"].to_numpy() > a_dod)
    acts = acts[~after].copy()
    a_dod = dod[acts["person"].to_numpy()]
    dead = a_dod != NA_DAY
    spanning = dead & (acts["end"].to_numpy() > a_dod)
    cancel = spanning & (rng.random(len(acts)) < 0.8)
    acts["status"] = np.where(cancel, "CANCELLED", None)
    acts["cancelled_on"] = np.where(cancel, a_dod, NA_DAY)
    acts.loc[cancel, "end"] = NA_DAY
    # Case closure after a death (case administration, not a CLD event).
    who = np.flatnonzero(dod != NA_DAY)
    closure = pd.DataFrame(
        {
            "person": who,
            "kind": "closure",
            "start": dod[who] + rint(rng, 1, 20, len(who)),
            "client_group": "SU",
        }
    )
    closure["end"] = closure["start"] + rint(rng, 0, 5, len(who))
    acts = pd.concat([acts, closure[closure["start"] <= HISTORY_END]], ignore_index=True)
    # Services: nothing starts after the death; most lines are closed at the death.
    s_dod = dod[services["person"].to_numpy()]
    services = services[~((s_dod != NA_DAY) & (services["start"].to_numpy() > s_dod))].copy()
    s_dod = dod[services["person"].to_numpy()]
    runs_on = (
        (s_dod != NA_DAY)
        & ((services["end"].to_numpy() == NA_DAY) | (services["end"].to_numpy() > s_dod))
        & services["status"].isna().to_numpy()
    )
    close = runs_on & (rng.random(len(services)) < 0.7)
    services.loc[close, "end"] = s_dod[close]
    services.loc[close, "end_reason"] = "DIED"
    people["dod"] = dod
    # Cancelled and still-open activities.
    m = len(acts)
    status = acts["status"].to_numpy().astype(object)
    cancelled = pd.isna(status) & (rng.random(m) < 0.02)
    cancelled &= ~acts["kind"].isin(["closure"]).to_numpy()
    status[cancelled] = "CANCELLED"
    acts["cancelled_on"] = np.where(
        cancelled, acts["start"].to_numpy() + 1, acts["cancelled_on"].to_numpy()
    )
    acts.loc[cancelled, "end"] = NA_DAY
    open_ = pd.isna(status) & (acts["end"].to_numpy() > HISTORY_END)
    status[open_] = "STARTED"
    acts.loc[open_, "end"] = NA_DAY
    status[pd.isna(status)] = "COMPLETED"
    acts["status"] = status
    acts = acts[acts["start"].to_numpy() <= HISTORY_END]
    return acts, services


def _split_lines(rng, services) -> pd.DataFrame:
    """Financial uplifts: each April the system ends a running line on 31 March and starts a
    new one (same service and provider) on 1 April with the new unit cost."""
    s = services.reset_index(drop=True)
    costed = s["unit_cost"].notna().to_numpy() & pd.isna(s["status"].to_numpy())
    costed &= ~s["kind"].isin(["CDP"]).to_numpy()
    aprils = np.array([day(f"{y}-04-01") for y in range(2022, 2027)])
    start = s["start"].to_numpy()
    end = np.where(s["end"].to_numpy() == NA_DAY, HISTORY_END + 1, s["end"].to_numpy())
    cut = (aprils[None, :] > start[:, None]) & (aprils[None, :] <= end[:, None])
    cut &= costed[:, None] & (rng.random(cut.shape) < 0.6)
    cuts_per = cut.sum(axis=1)
    segments = cuts_per + 1
    row = np.repeat(np.arange(len(s)), segments)
    seg = np.arange(len(row)) - np.repeat(np.cumsum(segments) - segments, segments)
    # Boundaries: start, the chosen Aprils, end.
    april_of = np.where(cut, aprils[None, :], np.iinfo(np.int64).max)
    april_of.sort(axis=1)
    first_seg = seg == 0
    last_seg = seg == cuts_per[row]
    seg_start = np.where(first_seg, start[row], april_of[row, np.maximum(seg - 1, 0)])
    seg_end = np.where(
        last_seg,
        s["end"].to_numpy()[row],
        april_of[row, np.minimum(seg, april_of.shape[1] - 1)] - 1,
    )
    out = s.iloc[row].reset_index(drop=True)
    out["start"] = seg_start
    out["end"] = seg_end
    out["end_reason"] = np.where(last_seg, out["end_reason"].to_numpy(), "UPLIFT")
    out["status"] = np.where(last_seg, out["status"].to_numpy(), "ENDED")
    growth = (1 + rng.uniform(0.03, 0.07, len(out))) ** seg
    out["unit_cost"] = np.round(out["unit_cost"].to_numpy() * growth, 2)
    status = out["status"].to_numpy().astype(object)
    open_ = out["end"].to_numpy() == NA_DAY
    status[pd.isna(status) & open_] = "ACTIVE"
    status[pd.isna(status)] = "ENDED"
    out["status"] = status
    return out


def _psr(rng, people) -> pd.DataFrame:
    """Primary support reason history: the first from the person's first contact; for some,
    a change (often to memory and cognition) later."""
    su = people[people["role"].eq("SU")]
    first = pd.DataFrame(
        {
            "person": su.index.to_numpy(),
            "psr": su["psr"].to_numpy(),
            "start": rint(rng, HISTORY_START - 1500, HISTORY_START + 400, len(su)),
        }
    )
    change = su[rng.random(len(su)) < 0.12]
    later = pd.DataFrame(
        {
            "person": change.index.to_numpy(),
            "psr": choose(rng, {"MEM": 0.6, "PC": 0.3, "MH": 0.1}, len(change)),
            "start": rint(rng, HISTORY_START + 400, HISTORY_END, len(change)),
        }
    )
    return pd.concat([first, later], ignore_index=True).sort_values(["person", "start"])


def _addresses(rng, people, services, area) -> pd.DataFrame:
    """Address history: a home address, a move for some, and the care home's postcode (out
    of the area for some) when a permanent placement starts."""
    n = len(people)
    home = pd.DataFrame(
        {
            "person": np.arange(n),
            "postcode": postcodes(rng, n, area),
            "accommodation": people["accommodation"].to_numpy(),
            "start": people["dob"].to_numpy() + int(18 * 365.25) + rint(rng, 0, 9000, n),
        }
    )
    home["start"] = np.minimum(home["start"].to_numpy(), HISTORY_START - 1)
    special = rng.random(n)
    home.loc[special < 0.01, "postcode"] = "ZZ99 3CZ"
    home.loc[(special >= 0.01) & (special < 0.02), "postcode"] = None
    home.loc[people["accommodation"].eq("ROUGH").to_numpy(), "postcode"] = "ZZ99 3VZ"
    moved = rng.random(n) < 0.06
    move = home[moved].copy()
    move["postcode"] = postcodes(rng, len(move), area)
    move["start"] = rint(rng, HISTORY_START, HISTORY_END, len(move))
    placements = services[
        services["kind"].isin(["RES", "NUR"]) & services["end_reason"].ne("UPLIFT")
    ].drop_duplicates("person")
    m = len(placements)
    away = rng.random(m) < 0.15
    care = pd.DataFrame(
        {
            "person": placements["person"].to_numpy(),
            "postcode": np.where(away, postcodes(rng, m, "NX"), postcodes(rng, m, area)),
            "accommodation": np.where(placements["kind"].eq("NUR"), "NURSH", "CAREH"),
            "start": placements["start"].to_numpy(),
        }
    )
    out = pd.concat([home, move, care], ignore_index=True)
    return out.sort_values(["person", "start"], kind="stable").reset_index(drop=True)
