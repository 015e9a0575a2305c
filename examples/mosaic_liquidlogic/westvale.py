"""Westvale (LA Code 997): a fictional authority on LiquidLogic's adult system (LAS). It records
contacts and assessments separately and does not work the three conversations model.

ILLUSTRATIVE TABLES. No public schema of LiquidLogic's adult system (LAS) exists (only the
children's system's warehouse is public); these tables are made up in LiquidLogic's spirit
(people, contacts, forms with answers, service agreements, carer relationships), to show a
second, differently shaped system feeding the same CLD mapping language. They are not
LiquidLogic's real tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import MetaData, Table

from . import common
from .population import NA_DAY, Population, choose, iso, nhs_check

LA_CODE = "997"
AREA = "WZ"
FIRST_PERSON_ID = 5_000_001

GENDER = {"M": "1", "F": "2", "O": "9", "U": "X", "I": "0"}
ETHNICITY = {
    "WBRI": "A",
    "WIRI": "B",
    "WOTH": "C",
    "WIRT": "GT",
    "WROM": "RO",
    "MWBC": "D",
    "MWBA": "E",
    "MWAS": "F",
    "MOTH": "G",
    "AIND": "H",
    "APKN": "J",
    "ABAN": "K",
    "CHNE": "R",
    "AOTH": "L",
    "BCRB": "M",
    "BAFR": "N",
    "BOTH": "P",
    "OARB": "AR",
    "OOTH": "S",
    "REFU": "RF",
    "NOBT": "Z",
    "WEUR": "C9",
}
# LAS keeps the SALT-era employment wording: Release 1 texts for the unpaid ones.
EMPLOYMENT = {
    "FT": "Paid: 16 or more hours a week",
    "PT": "Paid: Less than 16 hours a week",
    "PAID": "Paid: Hours per week unknown",
    "SEEKING": "Not in Paid Employment (seeking work)",
    "NOTSEEKING": "Not in Paid Employment (not actively seeking work / retired)",
    "RETIRED": "Not in Paid Employment (not actively seeking work / retired)",
    "VOLUNTARY": "Not in Paid Employment (voluntary work only)",
    "UNKNOWN": "Unknown",
}
SIGHT = {"SSI": "BLIND", "SI": "PARTIAL", "NONE": "NONE", "VI": "UNSPEC"}
HEARING = {
    "DWS": "DEAF_SPEECH",
    "DWOS": "DEAF_NOSPEECH",
    "HOH": "HOH",
    "NONE": "NONE",
    "HI": "UNSPEC",
}
PSR = {
    "PC": "PS-PC",
    "AM": "PS-AM",
    "MEM": "SMC",
    "LD": "LDS",
    "MH": "MHS",
    "ISO": "SS-SI",
    "VI": "SS-VI",
    "HI": "SS-HI",
    "DUAL": "SS-DI",
    "SUB": "SS-SM",
    "ASY": "SS-AS",
    "FRAIL": "FRAIL",
    "UNK": "UNK",
}
ACCOMMODATION = {
    "OWN": "OO",
    "TENLA": "LA",
    "TENPR": "PR",
    "FAM": "FF",
    "SUPP": "SA",
    "SHELT": "SH",
    "TEMP": "TA",
    "ROUGH": "RS",
    "HMO": "BB",
    "UNK": "UK",
    "CAREH": "CH",
    "NURSH": "NH",
}
OUTCOMES = {
    "START_C1": "ASSESS",
    "START_C2": "ASSESS",
    "START_C3": "ASSESS",
    "START_CARER": "CARER_ASSESS",
    "REFER_REAB": "REAB",
    "ARRANGE_SERVICES": "SERVICES",
    "CHANGE_SERVICES": "SERVICES_CHANGE",
    "CONTINUE_SERVICES": "CONTINUE",
    "NFA_IA": "IA",
    "NFA_OTHER_SERVICE": "REF_INTERNAL",
    "NFA_DECLINED": "DECLINED",
    "NFA_NHS": "REF_NHS",
    "NFA_NO_ELIGIBLE": "NOT_ELIGIBLE",
    "NFA_DECEASED": "DIED",
    "NFA_MOVED": "MOVED",
    "HOSPITAL": "HOSP",
    "NFA_SELF_FUNDING": "SELF_FUNDER",
    "NFA_ENDED": "ENDED",
    "CLOSE_OTHER": "OTHER",
    "LOCAL_COMMUNITY": "CONNECT",
}
# Contacts logged before the 2023 form change kept the Release 1 outcome texts.
RELEASE1_OUTCOME = {
    "START_C1": "Progress to Assessment",
    "NFA_IA": "NFA - Information & Advice / Signposting only",
    "NFA_OTHER_SERVICE": "NFA - Information & Advice / Signposting only",
    "NFA_DECLINED": "NFA - Support declined",
    "NFA_NHS": "NFA - 100% NHS funded care",
}
FORM_TYPES = {
    "c1": "ASSESS_ST",
    "c2": "ASSESS_ST",
    "c3": "ASSESS_LT",
    "ot": "OT",
    "carer_assess": "CARER_ASSESS",
    "financial": "FIN",
    "review": "REVIEW",
    "carer_review": "CARER_REVIEW",
    "safeguarding": "S42",
    "dols": "DOLS",
    "mha": "MHA",
    "mca": "MCA",
    "child": "CHILD_ASSESS",
    "closure": "CLOSURE",
}
STATUS = {"COMPLETED": "COMPLETE", "CANCELLED": "CANCELLED", "STARTED": "DRAFT"}
ELIGIBILITY = {"ELIG": "ELIGIBLE", "NONELIG": "NOT_ELIGIBLE", "NONE": "NO_NEEDS"}
METHOD = {"SU": "CLIENT", "JOINT": "JOINT", "CARER": "CARER"}
HOURS = {"H1_9": "1-9", "H10_19": "10-19", "H20_34": "20-34", "H35_49": "35-49", "H50P": "50+"}
REVIEW_REASON = {
    "PLANNED": "ANNUAL",
    "HOSP": "HOSPITAL",
    "CARER": "CARER",
    "SAFEG": "SAFEGUARDING",
    "OTHER": "OTHER",
    "PROVIDER": "PROVIDER",
    "COMMISSIONING": "COMMISSIONING",
}
OUTCOMES_MET = {"FULL": "FULLY", "PART": "PARTIALLY", "NOT": "NOT", "NA": "N/A"}
FUNDING = {"FULL_LA": "NIL_CHARGE", "JOINT": "CONTRIBUTION", "FULL_CLIENT": "FULL_COST"}
ROUTES = {
    "COMM": None,
    "HOSP_DIS": "HOSP",
    "HOSP_DIV": "HOSPDIV",
    "TRANS": "CSC",
    "PRISON": "PRISON",
    "SELF": "SELFFUND",
    "REAB_DIS": "REAB",
    "OTHER_LA": "OLA",
    "GP": "GP",
}
# kind: (Release 2 category, Release 1 category, element)
SERVICES = {
    "HC": ("Long term support: Community", "Long Term Support: Community", "HOMECARE"),
    "RES": ("Long term support: Residential care", "Long Term Support: Residential Care", "RES"),
    "NUR": ("Long term support: Nursing care", "Long Term Support: Nursing Care", "NURS"),
    "SL": ("Long term support: Community", "Long Term Support: Community", "SUPLIV"),
    "ECH": ("Long term support: Community", "Long Term Support: Community", "ECH"),
    "SLS": ("Long term support: Community", "Long Term Support: Community", "SHLIVES"),
    "DP": ("Long term support: Community", "Long Term Support: Community", "DP"),
    "DAY": ("Long term support: Community", "Long Term Support: Community", "DAYCARE"),
    "MEALS": ("Long term support: Community", "Long Term Support: Community", "MEALS"),
    "REAB": ("Short term support: ST-Max", "Short Term Support: ST-Max", "REABLEMENT"),
    "EQUIP": (
        "Short term support: Ongoing low level",
        "Short Term Support: Ongoing Low Level",
        "EQUIPMENT",
    ),
    "TELE": (
        "Short term support: Ongoing low level",
        "Short Term Support: Ongoing Low Level",
        "TELECARE",
    ),
    "RESPITE": (
        "Unpaid carer support: Support involving the person cared-for",
        "Carer Support: Support involving the person cared-for",
        "RESPITE",
    ),
    "CDP": (
        "Unpaid carer support: Direct to unpaid carer",
        "Carer Support: Direct to Carer",
        "CARER_DP",
    ),
    "CSUP": (
        "Unpaid carer support: Direct to unpaid carer",
        "Carer Support: Direct to Carer",
        "CARER_SUPPORT",
    ),
}
PAYMENT = {"DP": "DIRECT_PAYMENT", "MPB": "PERSONAL_BUDGET", "COMM": "COMMISSIONED"}
PERIODS = {
    "H": "Hourly",
    "W": "Weekly",
    "D": "Daily",
    "S": "Per session",
    "M": "Monthly",
    "O": "One-off",
}
END_REASONS = {
    "PLANNED": "COMPLETED",
    "MOVED": "MOVED_AWAY",
    "CHC": "CHC",
    "HOSP": "HOSPITAL",
    "OTHER": "OTHER",
    "DECLINED": "DECLINED",
    "SELF": "SELF_FUNDING",
    "DIED": "DECEASED",
    "UPLIFT": "RATE_CHANGE",
    "PROVIDER_CHANGE": "PROVIDER_CHANGE",
    "SUSPENDED": "SUSPENDED",
}
DATES = ("from_date", "to_date")
"""The columns of a dated row's start and end (addresses, support reasons)."""
CQC_PREFIX = "1-2"
"""Westvale's providers' fictional CQC location IDs: 1-2 and eight digits."""
RELEASE2_FROM = np.datetime64("2023-04-01")


SCHEMA = """
people: person_id int key, forename text(60), surname text(60), birth_date date,
    death_date date, gender_code text(2), ethnicity_code text(4), nhs_number text(12),
    gp_practice_code text(8), employment_status text(80), has_carer text(1), asd_flag text(1),
    dementia_flag text(1), sight_loss text(16), hearing_loss text(16)
person_addresses: address_id int key, person_id int index, postcode text(10),
    accommodation_type text(4), from_date date, to_date date
person_support_reasons: psr_id int key, person_id int index, psr_code text(10), from_date date,
    to_date date
contacts: contact_id int key, person_id int index, contact_datetime datetime,
    contact_type text(10), source_code text(12), outcome_code text(60), status text(10),
    completed_datetime datetime, team text(12)
forms: form_id int key, person_id int index, form_type text(16), started_datetime datetime,
    completed_datetime datetime, status text(10), linked_form_id int
form_answers: answer_id int key, form_id int index, question text(30), answer text(60)
carer_relationships: relationship_id int key, carer_id int index, cared_for_id int index,
    start_date date, end_date date
service_agreements: agreement_id int key, person_id int index, service_category text(80),
    element_code text(16), provider_code text(10), cqc_location_id text(20), start_date date,
    end_date date, end_reason text(20), unit_cost numeric(10,2), cost_period text(16),
    units_per_week numeric(8,2), payment_type text(20), funding_source text(6), team text(12),
    status text(10)
"""
"""Westvale's tables, one a paragraph (`common.schema` reads it)."""


def tables(metadata: MetaData) -> dict[str, Table]:
    """Westvale's LAS-style tables (illustrative, see the module docstring)."""
    return common.schema(metadata, SCHEMA)


def _stamp(days, rng, low_hour=8, high_hour=18) -> np.ndarray:
    """Day numbers -> 'YYYY-MM-DD HH:MM:SS' with a working-hours time (None for NA)."""
    days = np.asarray(days, dtype=np.int64)
    minutes = rng.integers(low_hour * 60, high_hour * 60, len(days))
    text = iso(days).astype(object)
    clock = np.char.add(
        np.char.add(np.char.zfill((minutes // 60).astype(str), 2), ":"),
        np.char.zfill((minutes % 60).astype(str), 2),
    )
    out = np.where(pd.isna(text), None, text.astype(str) + " " + clock.astype(object) + ":00")
    return out.astype(object)


def frames(pop: Population, include_story: bool = True) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)  # times of day only
    people = pop.people
    pid = people["person_id"].to_numpy()
    acts = pop.activities.copy()
    acts = acts.sort_values(["start", "person", "kind"], kind="stable").reset_index(drop=True)
    acts["person_id"] = pid[acts["person"].to_numpy()]
    contact = acts["kind"].eq("contact").to_numpy()
    contacts_a = acts[contact].reset_index(drop=True)
    forms_a = acts[~contact].reset_index(drop=True)
    contacts_a["id"] = np.arange(6_000_001, 6_000_001 + len(contacts_a))
    forms_a["id"] = np.arange(7_000_001, 7_000_001 + len(forms_a))
    people = common.avoid_dob_in_ids(
        people,
        (contacts_a["id"].to_numpy(), contacts_a["person"].to_numpy()),
        (forms_a["id"].to_numpy(), forms_a["person"].to_numpy()),
    )

    outcome = contacts_a["na1"].map(OUTCOMES)
    old_text = contacts_a["na1"].map(RELEASE1_OUTCOME)
    old_form = (rng.random(len(contacts_a)) < 0.03) & old_text.notna().to_numpy()
    outcome = outcome.where(~old_form, old_text)
    ctype = np.where(contacts_a["client_group"].eq("CARER"), "CARER", "ADULT").astype(object)
    ctype[contacts_a["casual"].to_numpy()] = "CASUAL"
    route = contacts_a["route"].map(ROUTES).astype(object)
    community = contacts_a["route"].eq("COMM").to_numpy()
    route[community] = choose(
        rng, {"SELF": 0.5, "FAMILY": 0.35, "POLICE": 0.05, "GP": 0.1}, int(community.sum())
    )
    contacts = pd.DataFrame(
        {
            "contact_id": contacts_a["id"].to_numpy(),
            "person_id": contacts_a["person_id"].to_numpy(),
            "contact_datetime": _stamp(contacts_a["start"].to_numpy(), rng),
            "contact_type": ctype,
            "source_code": route.to_numpy(),
            "outcome_code": outcome.to_numpy(),
            "status": contacts_a["status"].map({**STATUS, "STARTED": "OPEN"}).to_numpy(),
            "completed_datetime": _stamp(contacts_a["end"].to_numpy(), rng),
            "team": "ADULTS",
        }
    )
    # The short term assessment started the day of the contact comes after it, not before.
    form_start = _stamp(forms_a["start"].to_numpy(), rng, 12, 18)
    c3_forms = forms_a[forms_a["kind"].eq("c3")].set_index("episode")["id"]
    linked = forms_a["joint_episode"].map(c3_forms)
    forms = pd.DataFrame(
        {
            "form_id": forms_a["id"].to_numpy(),
            "person_id": forms_a["person_id"].to_numpy(),
            "form_type": forms_a["kind"].map(FORM_TYPES).to_numpy(),
            "started_datetime": form_start,
            "completed_datetime": _stamp(forms_a["end"].to_numpy(), rng),
            "status": forms_a["status"].map(STATUS).to_numpy(),
            "linked_form_id": linked.astype("Int64").to_numpy(),
        }
    )
    finished = forms["completed_datetime"].notna() & forms["started_datetime"].notna()
    same_day = finished & (
        forms["completed_datetime"].astype(str).str.slice(0, 10)
        == forms["started_datetime"].astype(str).str.slice(0, 10)
    )
    forms.loc[same_day, "completed_datetime"] = (
        forms.loc[same_day, "started_datetime"].astype(str).str.slice(0, 10) + " 18:30:00"
    )
    out = {
        "people": pd.DataFrame(
            {
                "person_id": pid,
                "forename": people["first"].to_numpy(),
                "surname": people["last"].to_numpy(),
                "birth_date": iso(people["dob"].to_numpy()),
                "death_date": iso(people["dod"].to_numpy()),
                "gender_code": people["sex"].map(GENDER).to_numpy(),
                "ethnicity_code": people["ethnicity"].map(ETHNICITY).to_numpy(),
                "nhs_number": people["nhs"].to_numpy(),
                "gp_practice_code": people["gp"].to_numpy(),
                "employment_status": people["employment"].map(EMPLOYMENT).to_numpy(),
                "has_carer": people["has_carer"].map({"Y": "Y", "N": "N"}).to_numpy(),
                "asd_flag": people["asd"].to_numpy(),
                "dementia_flag": people["dementia"].to_numpy(),
                "sight_loss": people["sight"].map(SIGHT).to_numpy(),
                "hearing_loss": people["hearing"].map(HEARING).to_numpy(),
            }
        ),
        "person_addresses": _addresses(pop, pid),
        "person_support_reasons": _psr(pop, pid),
        "contacts": contacts,
        "forms": forms,
        "form_answers": _answers(forms_a),
        "carer_relationships": pd.DataFrame(
            {
                "relationship_id": np.arange(4_000_001, 4_000_001 + len(pop.relationships)),
                "carer_id": pop.relationships["carer"].to_numpy(),
                "cared_for_id": pop.relationships["cared_for"].to_numpy(),
                "start_date": iso(pop.relationships["start"].to_numpy()),
                "end_date": iso(pop.relationships["end"].to_numpy()),
            }
        ),
        "service_agreements": _agreements(pop, pid),
    }
    return common.with_story(out, story_rows() if include_story else None)


def _addresses(pop, pid) -> pd.DataFrame:
    a = pop.addresses
    values = {
        "postcode": a["postcode"].to_numpy(),
        "accommodation_type": a["accommodation"].map(ACCOMMODATION).to_numpy(),
    }
    return common.person_periods(a, pid, "address_id", 3_000_001, values, DATES)


def _psr(pop, pid) -> pd.DataFrame:
    p = pop.psr
    values = {"psr_code": p["psr"].map(PSR).to_numpy()}
    return common.person_periods(p, pid, "psr_id", 2_000_001, values, DATES)


def _answers(forms_a) -> pd.DataFrame:
    kind = forms_a["kind"]
    done = ~forms_a["status"].eq("STARTED").to_numpy()
    specs = [
        (
            "OUTCOME_1",
            kind.isin(["c1", "c2", "c3", "ot", "carer_assess", "review", "carer_review"]),
            forms_a["na1"].map(OUTCOMES),
        ),
        ("OUTCOME_2", kind.isin(["c2"]), forms_a["na2"].map(OUTCOMES)),
        ("ELIGIBILITY", kind.isin(["c3", "carer_assess"]), forms_a["elig"].map(ELIGIBILITY)),
        (
            "METHOD",
            kind.isin(["c1", "c2", "c3", "ot", "carer_assess", "review", "carer_review"]),
            forms_a["method"].map(METHOD),
        ),
        ("HOURS_CARING", kind.isin(["carer_assess", "carer_review"]), forms_a["hours"].map(HOURS)),
        (
            "ADULTS_CARED_FOR",
            kind.isin(["carer_assess"]),
            forms_a["adults"].astype("Int64").astype("string"),
        ),
        ("REVIEW_REASON", kind.eq("review"), forms_a["reason"].map(REVIEW_REASON)),
        ("OUTCOMES_MET", kind.isin(["review", "carer_review"]), forms_a["met"].map(OUTCOMES_MET)),
        ("FIN_OUTCOME", kind.eq("financial"), forms_a["funding"].map(FUNDING)),
    ]
    parts = []
    for question, mask, values in specs:
        keep = mask.to_numpy(dtype=bool) & values.notna().to_numpy() & done
        parts.append(
            pd.DataFrame(
                {
                    "form_id": forms_a["id"].to_numpy()[keep],
                    "question": question,
                    "answer": values.astype(object).to_numpy()[keep],
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "answer_id", np.arange(1_000_001, 1_000_001 + len(out)))
    return out


def _agreements(pop, pid) -> pd.DataFrame:
    s = pop.services
    info = pd.DataFrame.from_dict(SERVICES, orient="index", columns=["r2", "r1", "element"])
    joined = info.reindex(s["kind"].to_numpy())
    old = s["start"].to_numpy().astype("datetime64[D]") < RELEASE2_FROM
    category = np.where(old, joined["r1"].to_numpy(), joined["r2"].to_numpy())
    provider = s["provider"].astype(object)
    status = s["status"].to_numpy().astype(object)
    end = s["end"].to_numpy().copy()
    # LAS keeps a suspended agreement open (no end date), status SUSPENDED.
    end[status == "SUSPENDED"] = NA_DAY
    return pd.DataFrame(
        {
            "agreement_id": np.arange(8_000_001, 8_000_001 + len(s)),
            "person_id": pid[s["person"].to_numpy()],
            "service_category": category,
            "element_code": joined["element"].to_numpy(),
            "provider_code": provider.to_numpy(),
            "cqc_location_id": common.cqc_locations(provider, CQC_PREFIX).to_numpy(),
            "start_date": iso(s["start"].to_numpy()),
            "end_date": iso(end),
            "end_reason": s["end_reason"].map(END_REASONS).to_numpy(),
            "unit_cost": s["unit_cost"].to_numpy(),
            "cost_period": s["freq"].map(PERIODS).to_numpy(),
            "units_per_week": s["units"].to_numpy(),
            "payment_type": s["delivery"].map(PAYMENT).to_numpy(),
            "funding_source": np.where(s["funding"].eq("CHC"), "CHC", "ASC"),
            "team": np.where(s["team"].eq("CHILD"), "CHILDRENS", "ADULTS"),
            "status": status,
        }
    )


# --- the story people ------------------------------------------------------------------------
# Ids: person 9001NN; contacts and forms 9001NN01..; agreements 9001NN51...


def _person(pid, first, last, sex, dob, eth, nhs_body, employment=None, has_carer="N", dod=None):
    return {
        "person_id": pid,
        "forename": first,
        "surname": last,
        "birth_date": dob,
        "death_date": dod,
        "gender_code": sex,
        "ethnicity_code": eth,
        "nhs_number": nhs_check(nhs_body) if nhs_body else None,
        "gp_practice_code": "W81001",
        "employment_status": employment,
        "has_carer": has_carer,
        "asd_flag": "N",
        "dementia_flag": "N",
        "sight_loss": "NONE",
        "hearing_loss": "NONE",
    }


STORY_PEOPLE = [
    _person(900101, "Olive", "Example", "2", "1947-05-22", "A", "999010101"),
    _person(
        900102,
        "Percy",
        "Sample",
        "1",
        "1951-09-13",
        "H",
        "999010202",
        employment="Not in Paid Employment (not actively seeking work / retired)",
    ),
    _person(900103, "Mabel", "Specimen", "2", "1940-02-26", "A", "999010303", has_carer="Y"),
    _person(
        900104,
        "Arthur",
        "Specimen",
        "1",
        "1966-10-04",
        "A",
        "999010404",
        employment="Paid: Less than 16 hours a week",
    ),
    _person(900105, "Florence", "Mockford", "2", "1934-07-17", "B", "999010505"),
    _person(900106, "Leonard", "Prototype", "1", "1956-12-01", "M", "999010606"),
    _person(
        900107,
        "Gladys",
        "Placeholder",
        "2",
        "1991-03-29",
        "A",
        "999010707",
        employment="Not in Paid Employment (voluntary work only)",
    ),
    _person(900108, "Reginald", "Dummy", "1", "1938-04-11", "A", "999010808", dod="2025-05-02"),
    _person(900109, "Doris", "Instance", "2", "1949-11-18", "C9", "999010909"),
    _person(
        900110,
        "Nigel",
        "Testcase",
        "1",
        "1970-06-07",
        "GT",
        "999011010",
        employment="Paid: 16 or more hours a week",
    ),
    _person(900111, "Hilda", "Testcase", "2", "1944-01-30", "A", None, has_carer="Y"),
    _person(900112, "Cyril", "Mockup", "1", "1946-08-23", "A", "999011212"),
    _person(900113, "Wilfred", "Template", "1", "2007-09-12", "A", "999011313"),
]
STORY_ADDRESSES = {  # person: [(postcode, accommodation type, from)]
    900101: [("WZ3 2NP", "OO", "1999-01-01")],
    900102: [("WZ5 8TH", "LA", "2012-05-01")],
    900103: [("WZ1 4RU", "OO", "1972-03-01")],
    900104: [("WZ1 9EA", "PR", "2018-04-01")],
    900105: [("WZ6 1LB", "OO", "1985-06-01"), ("SX2 5JD", "CH", "2023-02-06")],
    900106: [("WZ2 7HQ", "LA", "2011-11-01")],
    900107: [("WZ8 3GS", "SA", "2015-08-03")],
    900108: [("WZ4 6PW", "OO", "1970-01-01"), ("WZ4 1NB", "NH", "2024-10-14")],
    900109: [("WZ7 2DX", "OO", "1990-01-01")],
    900110: [("WZ9 5RL", "LA", "2016-02-01")],
    900111: [("WZ9 5RL", "LA", "2016-02-01")],
    900112: [("WZ3 8QA", "OO", "1980-01-01")],
    900113: [("WZ5 1FY", "FF", "2007-10-01")],
}
STORY_PSR = {
    900101: [("PS-PC", "2019-01-01")],
    900102: [("PS-AM", "2024-10-01")],
    900103: [("SMC", "2022-01-01")],
    900105: [("PS-PC", "2022-11-01")],
    900106: [("PS-PC", "2024-06-01")],
    900107: [("LDS", "2009-03-29")],
    900108: [("PS-PC", "2023-01-01")],
    900109: [("MHS", "2019-01-01")],
    900111: [("PS-PC", "2024-01-01")],
    900112: [("PS-PC", "2024-01-01")],
    900113: [("PS-PC", "2024-01-01")],
}
CONTACT_COLUMNS = (
    "person_id",
    "contact_datetime",
    "contact_type",
    "source_code",
    "outcome_code",
    "status",
    "completed_datetime",
)
# contact id: (person, datetime, type, source, outcome, status, completed): CONTACT_COLUMNS
# fmt: off
STORY_CONTACTS = {
    # 1: the contact is the request; the short term assessment is a separate form.
    90010101: (900101, "2025-02-03 10:15:00", "ADULT", "HOSP", "ASSESS", "COMPLETE",
               "2025-02-03 10:40:00"),
    90010201: (900102, "2024-11-04 09:05:00", "ADULT", "SELF", "ASSESS", "COMPLETE",
               "2024-11-04 09:30:00"),
    90010301: (900103, "2025-03-24 11:00:00", "ADULT", "FAMILY", "ASSESS", "COMPLETE",
               "2025-03-24 11:20:00"),
    # 7: an unpaid carer's contact with no source recorded.
    90011001: (900110, "2025-01-09 15:30:00", "CARER", None, "CARER_ASSESS", "COMPLETE",
               "2025-01-09 15:45:00"),
    # A Release 1 outcome text from the old contact form; a casual contact; a children's one.
    90011201: (900112, "2024-12-02 09:00:00", "ADULT", "SELF", "NFA - Moved to another LA",
               "COMPLETE", "2024-12-02 09:10:00"),
    90011202: (900112, "2025-03-20 16:00:00", "CASUAL", None, "IA", "COMPLETE",
               "2025-03-20 16:05:00"),
    90011203: (900112, "2025-04-07 10:00:00", "ADULT", "SELF", "IA", "CANCELLED", None),
    90011301: (900113, "2025-01-13 10:00:00", "CHILD", "CSC", "ASSESS", "COMPLETE",
               "2025-01-13 10:30:00"),
}
# fmt: on
# form id: (person, type, started, completed, status, linked form, {question: answer})
STORY_FORMS = {
    90010102: (
        900101,
        "ASSESS_ST",
        "2025-02-03 14:00:00",
        "2025-02-17 16:00:00",
        "COMPLETE",
        None,
        {"OUTCOME_1": "IA", "METHOD": "CLIENT"},
    ),
    # 2: short term, then long term assessment with two outcomes (hierarchy), financial.
    90010202: (
        900102,
        "ASSESS_ST",
        "2024-11-05 10:00:00",
        "2024-12-20 12:00:00",
        "COMPLETE",
        None,
        {"OUTCOME_1": "ASSESS", "OUTCOME_2": "REAB", "METHOD": "CLIENT"},
    ),
    90010203: (
        900102,
        "ASSESS_LT",
        "2025-01-06 09:30:00",
        "2025-02-14 17:00:00",
        "COMPLETE",
        None,
        {"OUTCOME_1": "SERVICES", "ELIGIBILITY": "ELIGIBLE", "METHOD": "CLIENT"},
    ),
    90010204: (
        900102,
        "FIN",
        "2025-02-20 10:00:00",
        "2025-03-10 11:00:00",
        "COMPLETE",
        None,
        {"FIN_OUTCOME": "CONTRIBUTION"},
    ),
    90010205: (
        900102,
        "REVIEW",
        "2025-04-14 10:00:00",
        "2025-04-16 15:00:00",
        "COMPLETE",
        None,
        {
            "REVIEW_REASON": "ANNUAL",
            "OUTCOMES_MET": "N/A",
            "METHOD": "CLIENT",
            "OUTCOME_1": "CONTINUE",
        },
    ),
    # 3: joint assessment: Mabel's with Arthur involved; Arthur's own, linked to hers.
    90010302: (
        900103,
        "ASSESS_LT",
        "2025-04-01 10:00:00",
        "2025-04-28 15:00:00",
        "COMPLETE",
        None,
        {"OUTCOME_1": "SERVICES", "ELIGIBILITY": "ELIGIBLE", "METHOD": "JOINT"},
    ),
    90010401: (
        900104,
        "CARER_ASSESS",
        "2025-04-01 10:00:00",
        "2025-04-28 15:30:00",
        "COMPLETE",
        90010302,
        {
            "OUTCOME_1": "SERVICES",
            "ELIGIBILITY": "ELIGIBLE",
            "METHOD": "JOINT",
            "HOURS_CARING": "35-49",
            "ADULTS_CARED_FOR": "1",
        },
    ),
    90010801: (
        900108,
        "REVIEW",
        "2025-04-22 10:00:00",
        None,
        "DRAFT",
        None,
        {"REVIEW_REASON": "ANNUAL"},
    ),
    90010802: (
        900108,
        "CLOSURE",
        "2025-05-09 09:00:00",
        "2025-05-09 09:30:00",
        "COMPLETE",
        None,
        {},
    ),
    # 6: completed before the period (out), on its last day (in), after it (out).
    90010901: (
        900109,
        "ASSESS_LT",
        "2024-08-12 10:00:00",
        "2024-09-20 12:00:00",
        "COMPLETE",
        None,
        {"OUTCOME_1": "SERVICES", "ELIGIBILITY": "ELIGIBLE", "METHOD": "CLIENT"},
    ),
    90010902: (
        900109,
        "REVIEW",
        "2025-09-15 10:00:00",
        "2025-09-30 16:45:00",
        "COMPLETE",
        None,
        {
            "REVIEW_REASON": "ANNUAL",
            "OUTCOMES_MET": "FULLY",
            "METHOD": "CLIENT",
            "OUTCOME_1": "CONTINUE",
        },
    ),
    90010903: (
        900109,
        "REVIEW",
        "2025-09-26 10:00:00",
        "2025-10-03 12:00:00",
        "COMPLETE",
        None,
        {
            "REVIEW_REASON": "HOSPITAL",
            "OUTCOMES_MET": "N/A",
            "METHOD": "CLIENT",
            "OUTCOME_1": "SERVICES_CHANGE",
        },
    ),
    # 7: a carer's assessment, and a carer's review with no reason recorded.
    90011002: (
        900110,
        "CARER_ASSESS",
        "2025-01-20 10:00:00",
        "2025-02-11 12:00:00",
        "COMPLETE",
        None,
        {
            "OUTCOME_1": "SERVICES",
            "ELIGIBILITY": "ELIGIBLE",
            "METHOD": "CARER",
            "HOURS_CARING": "20-34",
            "ADULTS_CARED_FOR": "1",
        },
    ),
    90011003: (
        900110,
        "CARER_REVIEW",
        "2025-08-18 10:00:00",
        "2025-08-20 11:00:00",
        "COMPLETE",
        None,
        {"OUTCOMES_MET": "FULLY", "METHOD": "CARER", "OUTCOME_1": "CONTINUE"},
    ),
    # Out of scope: safeguarding, DoLS, Mental Health Act; and a cancelled assessment.
    90011204: (900112, "S42", "2025-03-03 09:00:00", "2025-04-11 12:00:00", "COMPLETE", None, {}),
    90011205: (900112, "DOLS", "2025-05-06 09:00:00", "2025-05-20 12:00:00", "COMPLETE", None, {}),
    90011206: (900112, "MHA", "2025-06-02 09:00:00", "2025-06-02 17:00:00", "COMPLETE", None, {}),
    90011207: (
        900112,
        "ASSESS_ST",
        "2025-02-10 09:00:00",
        None,
        "CANCELLED",
        None,
        {"METHOD": "CLIENT"},
    ),
    90011302: (
        900113,
        "CHILD_ASSESS",
        "2025-01-13 11:00:00",
        "2025-02-10 12:00:00",
        "COMPLETE",
        None,
        {},
    ),
}
AGREEMENT_COLUMNS = (
    "person_id",
    "service_category",
    "element_code",
    "provider_code",
    "start_date",
    "end_date",
    "end_reason",
    "unit_cost",
    "cost_period",
    "units_per_week",
    "payment_type",
    "funding_source",
    "team",
    "status",
)
# agreement id: (person, category, element, provider, start, end, end reason, cost, period,
#                units, payment, funding, team, status): AGREEMENT_COLUMNS
# fmt: off
STORY_AGREEMENTS = {
    90010251: (900102, "Short term support: ST-Max", "REABLEMENT", "PR10", "2024-12-23",
               "2025-01-31", "COMPLETED", None, None, None, "COMMISSIONED", "ASC", "ADULTS",
               "ENDED"),
    90010252: (900102, "Long term support: Community", "HOMECARE", "PR55", "2025-02-24", None,
               None, 23.40, "Hourly", 12, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    90010351: (900103, "Long term support: Community", "HOMECARE", "PR57", "2025-05-06", None,
               None, 19.80, "Hourly", 14, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    90010352: (900103, "Unpaid carer support: Support involving the person cared-for", "RESPITE",
               "PR33", "2025-06-02", "2025-06-15", "COMPLETED", 720.00, "Weekly", None,
               "PERSONAL_BUDGET", "ASC", "ADULTS", "ENDED"),
    # Uplifts; the oldest line still carries the Release 1 category text.
    90010551: (900105, "Long Term Support: Residential Care", "RES", "PR41", "2023-02-06",
               "2024-03-31", "RATE_CHANGE", 810.00, "Weekly", None, "PERSONAL_BUDGET", "ASC",
               "ADULTS", "ENDED"),
    90010552: (900105, "Long term support: Residential care", "RES", "PR41", "2024-04-01",
               "2025-03-31", "RATE_CHANGE", 850.50, "Weekly", None, "PERSONAL_BUDGET", "ASC",
               "ADULTS", "ENDED"),
    90010553: (900105, "Long term support: Residential care", "RES", "PR41", "2025-04-01", None,
               None, 893.03, "Weekly", None, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    # A provider change, a direct payment beside it, a suspended agreement (open, no end).
    90010651: (900106, "Long term support: Community", "HOMECARE", "PR52", "2024-09-02",
               "2025-01-31", "PROVIDER_CHANGE", 21.00, "Hourly", 10, "PERSONAL_BUDGET", "ASC",
               "ADULTS", "ENDED"),
    90010652: (900106, "Long term support: Community", "HOMECARE", "PR60", "2025-02-01", None,
               None, 22.10, "Hourly", 10, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    90010653: (900106, "Long term support: Community", "DAYCARE", None, "2024-09-02", None, None,
               55.00, "Daily", 2, "DIRECT_PAYMENT", "ASC", "ADULTS", "ACTIVE"),
    90010751: (900107, "Long term support: Community", "SUPLIV", "PR58", "2024-06-03", None, None,
               1340.00, "Weekly", None, "PERSONAL_BUDGET", "ASC", "ADULTS", "SUSPENDED"),
    90010752: (900107, "Long term support: Community", "DAYCARE", "PR71", "2025-03-01", None, None,
               60.00, "Daily", 3, "PERSONAL_BUDGET", "ASC", "ADULTS", "CANCELLED"),
    90010753: (900107, "Long term support: Community", "MEALS", "PR72", "2025-05-10", "2025-05-09",
               "DECLINED", 6.50, "Per session", 7, "PERSONAL_BUDGET", "ASC", "ADULTS", "ENDED"),
    # Open when Reginald died on 02/05/2025.
    90010851: (900108, "Long term support: Nursing care", "NURS", "PR44", "2024-10-14", None, None,
               1180.00, "Weekly", None, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    90010951: (900109, "Long term support: Community", "HOMECARE", "PR54", "2024-09-01", None,
               None, 22.00, "Hourly", 6, "PERSONAL_BUDGET", "ASC", "ADULTS", "ACTIVE"),
    90011051: (900110, "Unpaid carer support: Direct to unpaid carer", "CARER_DP", None,
               "2025-02-24", "2025-02-24", "COMPLETED", 300.00, "One-off", None, "DIRECT_PAYMENT",
               "ASC", "ADULTS", "ENDED"),
    90011151: (900111, "Long term support: Community", "HOMECARE", "PR56", "2024-07-01", None,
               None, 18.00, "Hourly", 15, "DIRECT_PAYMENT", "ASC", "ADULTS", "ACTIVE"),
    90011251: (900112, "Long term support: Nursing care", "NURS", "PR45", "2025-02-03", None, None,
               1290.00, "Weekly", None, "PERSONAL_BUDGET", "CHC", "ADULTS", "ACTIVE"),
    90011351: (900113, "Long term support: Community", "DAYCARE", "PR71", "2025-02-10", None, None,
               48.00, "Daily", 2, "PERSONAL_BUDGET", "ASC", "CHILDRENS", "ACTIVE"),
}
# fmt: on
STORY_RELATIONSHIPS = {  # relationship id: (carer, cared-for person, start)
    4900104: (900104, 900103, "2019-06-01"),
    4900110: (900110, 900111, "2023-02-01"),
}


def _contact_team(contact: dict) -> str:
    return "CHILDRENS" if contact["contact_type"] == "CHILD" else "ADULTS"


def story_rows() -> common.StoryRows:
    """The story people's rows, table by table (literal data, no randomness)."""
    rows = common.StoryRows()
    for p in STORY_PEOPLE:
        pid = p["person_id"]
        rows.add("people", **p)
        addresses = STORY_ADDRESSES.get(pid, [])
        columns = ("postcode", "accommodation_type", "from_date")
        rows.dated("person_addresses", "address_id", pid, addresses, columns, DATES[1])
        psr = STORY_PSR.get(pid, [])
        rows.dated(
            "person_support_reasons", "psr_id", pid, psr, ("psr_code", "from_date"), DATES[1]
        )
    rows.keyed("contacts", "contact_id", STORY_CONTACTS, CONTACT_COLUMNS, team=_contact_team)
    answer_id = 99_000_001
    for fid, (person, ftype, started, done, status, linked, answers) in STORY_FORMS.items():
        rows.add(
            "forms",
            form_id=fid,
            person_id=person,
            form_type=ftype,
            started_datetime=started,
            completed_datetime=done,
            status=status,
            linked_form_id=linked,
        )
        for question, answer in answers.items():
            rows.add(
                "form_answers", answer_id=answer_id, form_id=fid, question=question, answer=answer
            )
            answer_id += 1
    cqc = common.cqc_location(CQC_PREFIX, "provider_code")
    rows.keyed(
        "service_agreements",
        "agreement_id",
        STORY_AGREEMENTS,
        AGREEMENT_COLUMNS,
        cqc_location_id=cqc,
    )
    columns = ("carer_id", "cared_for_id", "start_date")
    rows.keyed(
        "carer_relationships", "relationship_id", STORY_RELATIONSHIPS, columns, end_date=None
    )
    return rows


STORY_PERSON_IDS = [p["person_id"] for p in STORY_PEOPLE]
