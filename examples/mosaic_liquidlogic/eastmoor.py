"""Eastmoor (LA Code 998): a fictional authority on Mosaic that works the three conversations
model, often holding conversation 1 at first contact.

The tables follow the public shape of Mosaic's reporting views (DM_ prefix): people, names,
references, addresses, classifications (the primary support reason), workflow steps with their
step types, cached form answers and next actions, relationships. No public Mosaic table for
service provision exists: `dm_service_provisions` is modelled plausibly (one row per service
line, restarted by each financial uplift) and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import MetaData, Table

from . import common
from .population import NA_DAY, Population, day, iso, nhs_check

LA_CODE = "998"
AREA = "EM"
FIRST_PERSON_ID = 1_000_001

STEP_TYPES = {
    1000: "Adult contact",
    1101: "Conversation 1 (listen and connect)",
    1102: "Conversation 2 (work intensively in crisis)",
    1103: "Conversation 3 (Care Act assessment)",
    1104: "Carer's assessment",
    1105: "Occupational therapy assessment",
    1107: "Financial assessment",
    1201: "Review of care and support plan",
    1202: "Carer's review",
    1301: "Safeguarding enquiry (s42)",
    1302: "DoLS assessment",
    1303: "Mental Health Act assessment",
    1304: "Mental capacity assessment",
    1401: "Children's social care assessment",
    1501: "Case closure",
}
KIND_TO_STEP_TYPE = {
    "contact": 1000,
    "c1": 1101,
    "c2": 1102,
    "c3": 1103,
    "carer_assess": 1104,
    "ot": 1105,
    "financial": 1107,
    "review": 1201,
    "carer_review": 1202,
    "safeguarding": 1301,
    "dols": 1302,
    "mha": 1303,
    "mca": 1304,
    "child": 1401,
    "closure": 1501,
}
NEXT_ACTIONS = {  # abstract code: (id, description, is_no_further_action)
    "START_C1": (1, "Conversation 1", "N"),
    "START_C2": (2, "Conversation 2", "N"),
    "START_C3": (3, "Conversation 3 / Care Act assessment", "N"),
    "START_CARER": (4, "Carer's assessment", "N"),
    "REFER_REAB": (5, "Refer to reablement", "N"),
    "ARRANGE_SERVICES": (6, "Support planning", "N"),
    "CHANGE_SERVICES": (7, "Change to support plan", "N"),
    "CONTINUE_SERVICES": (8, "No change - continue support", "N"),
    "NFA_IA": (10, "NFA - information and advice given", "Y"),
    "NFA_OTHER_SERVICE": (11, "NFA - referred to other council service", "Y"),
    "NFA_DECLINED": (12, "NFA - support declined", "Y"),
    "NFA_NHS": (13, "NFA - referred to NHS", "Y"),
    "NFA_NO_ELIGIBLE": (14, "NFA - no eligible needs", "Y"),
    "NFA_DECEASED": (15, "NFA - deceased", "Y"),
    "NFA_MOVED": (16, "NFA - moved out of area", "Y"),
    "HOSPITAL": (17, "Admitted to hospital", "Y"),
    "NFA_SELF_FUNDING": (18, "NFA - self-funding", "Y"),
    "NFA_ENDED": (19, "NFA - support ended", "Y"),
    "CLOSE_OTHER": (20, "Close - other", "Y"),
    "LOCAL_COMMUNITY": (21, "Community connector (local offer)", "Y"),
}
# The old outcome form (one team still uses it) stores Release 1 texts.
RELEASE1_OUTCOME = {
    "NFA_IA": "NFA - Information & Advice / Signposting only",
    "NFA_OTHER_SERVICE": "NFA - Information & Advice / Signposting only",
    "NFA_DECLINED": "NFA - Support declined",
    "NFA_NO_ELIGIBLE": "NFA - No services offered: Other reason",
    "START_C2": "Progress to Assessment",
    "START_C3": "Progress to Assessment",
    "ARRANGE_SERVICES": "Progress to Support Planning / Services",
}
ROUTES = {
    "COMM": "COMM",
    "HOSP_DIS": "HOSP_DIS",
    "HOSP_DIV": "HOSP_DIV",
    "TRANS": "TRANS",
    "PRISON": "PRISON",
    "SELF": "SELF_FUND",
    "REAB_DIS": "REAB_DIS",
    "OTHER_LA": "OTHER_LA",
    "GP": "GP",
}
SERVICE_CODES = {
    "HC": ("HOMECARE", "Home care"),
    "RES": ("RESCARE", "Residential care"),
    "NUR": ("NURSCARE", "Nursing care"),
    "SL": ("SUPPLIV", "Supported living"),
    "ECH": ("EXTRACARE", "Extra care housing"),
    "SLS": ("SHAREDLIV", "Shared Lives"),
    "DP": ("DIRPAY", "Direct payment (general)"),
    "DAY": ("DAYCARE", "Day opportunities"),
    "MEALS": ("MEALS", "Meals at home"),
    "REAB": ("REABLE", "Reablement"),
    "EQUIP": ("EQUIP", "Equipment"),
    "TELE": ("TELECARE", "Telecare installation"),
    "RESPITE": ("RESPITE", "Respite for carer (cared-for person's stay)"),
    "CDP": ("CARERDP", "Carer's direct payment"),
    "CSUP": ("CARERSUP", "Carers' centre support"),
}
FREQUENCIES = {"H": "HOUR", "W": "WEEK", "D": "DAY", "S": "SESSION", "M": "MONTH", "O": "ONEOFF"}
PSR_CODES = {
    "PC": "PSR_PHYS_PC",
    "AM": "PSR_PHYS_AM",
    "MEM": "PSR_MEM",
    "LD": "PSR_LD",
    "MH": "PSR_MH",
    "ISO": "PSR_ISO",
    "VI": "PSR_SENS_VI",
    "HI": "PSR_SENS_HI",
    "DUAL": "PSR_SENS_DUAL",
    "SUB": "PSR_SUB",
    "ASY": "PSR_ASY",
    "FRAIL": "PSR_FRAIL",
    "UNK": "PSR_UNK",
}
ACCOMMODATION = {
    "OWN": "OWN",
    "TENLA": "TENLA",
    "TENPR": "TENPR",
    "FAM": "FAM",
    "SUPP": "SUPP",
    "SHELT": "SHELT",
    "TEMP": "TEMP",
    "ROUGH": "ROUGH",
    "HMO": "HMO",
    "UNK": "UNK",
    "CAREH": "CAREH",
    "NURSH": "NURSH",
}


SCHEMA = """
dm_persons: person_id int key, date_of_birth date, date_of_death date, gender text(1),
    full_ethnicity_code text(8)
dm_person_names: person_id int index, name_class_id text(10), first_names text(60),
    last_name text(60), start_date date, end_date date
dm_person_references: person_id int index, reference_type text(10), reference text(20)
dm_person_characteristics: person_id int index, characteristic_type text(20),
    characteristic_value text(20), start_date date, end_date date
dm_addresses: address_id int key, person_id int index, post_code text(10),
    accommodation_code text(10), start_date date, end_date date
dm_person_classifications: classification_id int key, person_id int index,
    classification_code text(20), start_date date, end_date date
dm_workflow_step_types: workflow_step_type_id int key, description text(80)
dm_workflow_steps: workflow_step_id int key, workflow_step_type_id int,
    subject_person_id int index, incoming_on date, started_on date, completed_on date,
    cancelled_on date, step_status text(12), responsible_team_id text(8)
dm_cached_form_answers: form_answer_id int key, workflow_step_id int index,
    question_user_code text(30), text_answer text(100), date_answer date, number_answer int
dm_workflow_nxt_action_types: workflow_next_action_type_id int key, description text(80),
    is_no_further_action text(1)
dm_workflow_links: workflow_link_id int key, source_step_id int index, target_step_id int,
    workflow_next_action_type_id int
dm_relationships: relationship_id int key, person_id int index, other_person_id int index,
    relationship_type text(20), start_date date, end_date date
dm_service_types: service_code text(12) key, description text(80)
dm_service_provisions: provision_id int key, person_id int index, service_code text(12),
    provider_id text(10), cqc_location_id text(20), start_date date, end_date date,
    end_reason text(20), unit_cost numeric(10,2), cost_frequency text(10),
    planned_units numeric(8,2), delivery_code text(6), funding_code text(6), team_code text(6),
    status text(12)
"""
"""Eastmoor's tables, one a paragraph (`common.schema` reads it)."""


def tables(metadata: MetaData) -> dict[str, Table]:
    """The Mosaic-style tables (lower-case names, as in most warehouse copies)."""
    return common.schema(metadata, SCHEMA)


DATES = ("start_date", "end_date")
"""The columns of a dated row's start and end (addresses, classifications...)."""
CQC_PREFIX = "1-1"
"""Eastmoor's providers' fictional CQC location IDs: 1-1 and eight digits."""


def frames(pop: Population, include_story: bool = True) -> dict[str, pd.DataFrame]:
    """The population laid out as Eastmoor's Mosaic tables, plus the story people."""
    people = pop.people
    pid = people["person_id"].to_numpy()

    acts = pop.activities.copy()
    # Conversation 1 at first contact: Eastmoor records it on the conversation 1 step only.
    acts = acts[~(acts["kind"].eq("contact") & acts["at_contact"])].copy()
    acts = acts.sort_values(["start", "person", "kind"], kind="stable").reset_index(drop=True)
    acts["step_id"] = np.arange(2_000_001, 2_000_001 + len(acts))
    acts["person_id"] = pid[acts["person"].to_numpy()]
    step_ids = acts["step_id"].to_numpy()
    people = common.avoid_dob_in_ids(people, (step_ids, acts["person"].to_numpy()))

    steps = pd.DataFrame(
        {
            "workflow_step_id": step_ids,
            "workflow_step_type_id": acts["kind"].map(KIND_TO_STEP_TYPE).to_numpy(),
            "subject_person_id": acts["person_id"].to_numpy(),
            "incoming_on": iso(acts["start"].to_numpy()),
            "started_on": iso(acts["start"].to_numpy()),
            "completed_on": iso(acts["end"].to_numpy()),
            "cancelled_on": iso(acts["cancelled_on"].fillna(NA_DAY).astype(np.int64).to_numpy()),
            "step_status": acts["status"].to_numpy(),
            "responsible_team_id": np.where(acts["kind"].eq("child"), "CSC", "ASC"),
        }
    )
    # Steps waiting in a tray have an incoming date only.
    waiting = acts["status"].eq("STARTED").to_numpy() & (np.arange(len(acts)) % 3 == 0)
    steps.loc[waiting, "started_on"] = None
    steps.loc[waiting, "step_status"] = "INCOMING"

    answers = _answers(acts)
    links = _links(acts)
    rel = pop.relationships
    relationships = pd.DataFrame(
        {
            "relationship_id": np.arange(5_000_001, 5_000_001 + len(rel)),
            "person_id": rel["carer"].to_numpy(),
            "other_person_id": rel["cared_for"].to_numpy(),
            "relationship_type": "UNPAID_CARER",
            "start_date": iso(rel["start"].to_numpy()),
            "end_date": iso(rel["end"].to_numpy()),
        }
    )
    out = {
        "dm_persons": pd.DataFrame(
            {
                "person_id": pid,
                "date_of_birth": iso(people["dob"].to_numpy()),
                "date_of_death": iso(people["dod"].to_numpy()),
                "gender": people["sex"].to_numpy(),
                "full_ethnicity_code": people["ethnicity"].to_numpy(),
            }
        ),
        "dm_person_names": _names(people),
        "dm_person_references": _references(people),
        "dm_person_characteristics": _characteristics(people),
        "dm_addresses": _addresses(pop, pid),
        "dm_person_classifications": _classifications(pop, pid),
        "dm_workflow_step_types": pd.DataFrame(
            {"workflow_step_type_id": list(STEP_TYPES), "description": list(STEP_TYPES.values())}
        ),
        "dm_workflow_steps": steps,
        "dm_cached_form_answers": answers,
        "dm_workflow_nxt_action_types": pd.DataFrame(
            [
                {"workflow_next_action_type_id": i, "description": d, "is_no_further_action": nfa}
                for i, d, nfa in NEXT_ACTIONS.values()
            ]
        ),
        "dm_workflow_links": links,
        "dm_relationships": relationships,
        "dm_service_types": pd.DataFrame(
            {
                "service_code": [c for c, _ in SERVICE_CODES.values()],
                "description": [d for _, d in SERVICE_CODES.values()],
            }
        ),
        "dm_service_provisions": _provisions(pop, pid),
    }
    return common.with_story(out, story_rows() if include_story else None)


def _names(people) -> pd.DataFrame:
    main = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy(),
            "name_class_id": "MAIN",
            "first_names": people["first"].to_numpy(),
            "last_name": people["last"].to_numpy(),
            "start_date": iso(people["dob"].to_numpy()),
            "end_date": None,
        }
    )
    # Some people have a previous (maiden) name too: only the MAIN name is the official one.
    previous = main[(people["sex"].eq("F") & (people.index % 7 == 0)).to_numpy()].copy()
    previous["name_class_id"] = "PREVIOUS"
    previous["last_name"] = previous["last_name"].str.slice(0, 3) + "worth"
    previous["end_date"] = "1975-06-01"
    return pd.concat([main, previous], ignore_index=True)


def _references(people) -> pd.DataFrame:
    has = people["nhs"].notna().to_numpy()
    nhs = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[has],
            "reference_type": "NHS",
            "reference": people["nhs"].to_numpy()[has],
        }
    )
    legacy = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy(),
            "reference_type": "LEGACY",
            "reference": "SSID" + people["person_id"].astype(str).str.slice(2).to_numpy(),
        }
    )
    return pd.concat([nhs, legacy], ignore_index=True)


CHARACTERISTICS = {
    "EMPLOYMENT": "employment",
    "ASD": "asd",
    "DEMENTIA": "dementia",
    "SIGHT": "sight",
    "HEARING": "hearing",
    "HAS_CARER": "has_carer",
    "GP_PRACTICE": "gp",
}


def _characteristics(people) -> pd.DataFrame:
    parts = []
    for name, column in CHARACTERISTICS.items():
        values = people[column].to_numpy()
        has = pd.notna(values)
        parts.append(
            pd.DataFrame(
                {
                    "person_id": people["person_id"].to_numpy()[has],
                    "characteristic_type": name,
                    "characteristic_value": values[has],
                    "start_date": "2021-04-01",
                    "end_date": None,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _addresses(pop, pid) -> pd.DataFrame:
    a = pop.addresses
    values = {
        "post_code": a["postcode"].to_numpy(),
        "accommodation_code": a["accommodation"].map(ACCOMMODATION).to_numpy(),
    }
    return common.person_periods(a, pid, "address_id", 6_000_001, values, DATES)


def _classifications(pop, pid) -> pd.DataFrame:
    p = pop.psr
    values = {"classification_code": p["psr"].map(PSR_CODES).to_numpy()}
    return common.person_periods(p, pid, "classification_id", 7_000_001, values, DATES)


def _answers(acts) -> pd.DataFrame:
    """Cached form answers (one row per step and question)."""
    kind = acts["kind"]
    legacy = acts["legacy"].to_numpy()
    specs = [
        # (question, which steps, value column or constant)
        (
            "ROUTE_OF_ACCESS",
            kind.eq("contact") | (kind.eq("c1") & acts["at_contact"]),
            acts["route"].map(ROUTES),
        ),
        (
            "CLIENT_GROUP",
            kind.eq("contact"),
            acts["client_group"].map({"SU": "ADULT", "CARER": "CARER"}),
        ),
        ("CASUAL_CONTACT", kind.eq("contact") & acts["casual"], pd.Series("Y", index=acts.index)),
        ("AT_FIRST_CONTACT", kind.eq("c1"), acts["at_contact"].map({True: "Y", False: "N"})),
        (
            "METHOD",
            kind.isin(["c1", "c2", "c3", "ot", "carer_assess", "review", "carer_review"]),
            acts["method"],
        ),
        ("ELIGIBILITY", kind.isin(["c3", "carer_assess"]), acts["elig"]),
        ("CARER_HOURS", kind.isin(["carer_assess", "carer_review"]), acts["hours"]),
        ("REVIEW_REASON", kind.eq("review"), acts["reason"]),
        ("OUTCOMES_MET", kind.isin(["review", "carer_review"]), acts["met"]),
        ("FA_OUTCOME", kind.eq("financial"), acts["funding"]),
        (
            "OUTCOME",
            pd.Series(legacy, index=acts.index) & kind.isin(["c1", "c3"]),
            acts["na1"].map(RELEASE1_OUTCOME),
        ),
    ]
    parts = []
    for question, mask, values in specs:
        mask = mask.to_numpy(dtype=bool) & values.notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "workflow_step_id": acts["step_id"].to_numpy()[mask],
                    "question_user_code": question,
                    "text_answer": values.to_numpy()[mask],
                    "date_answer": None,
                    "number_answer": None,
                }
            )
        )
    adults = kind.isin(["carer_assess"]).to_numpy() & acts["adults"].notna().to_numpy()
    parts.append(
        pd.DataFrame(
            {
                "workflow_step_id": acts["step_id"].to_numpy()[adults],
                "question_user_code": "ADULTS_CARED_FOR",
                "text_answer": None,
                "date_answer": None,
                "number_answer": acts["adults"].to_numpy()[adults].astype(np.int64),
            }
        )
    )
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "form_answer_id", np.arange(8_000_001, 8_000_001 + len(out)))
    return out


def _links(acts) -> pd.DataFrame:
    """Next actions: one link per next action of a completed step (none on the old form)."""
    done = acts["status"].eq("COMPLETED").to_numpy() & ~acts["legacy"].to_numpy()
    parts = []
    for column in ("na1", "na2"):
        if column not in acts:
            continue
        has = done & acts[column].notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "source_step_id": acts["step_id"].to_numpy()[has],
                    "target_step_id": None,
                    "workflow_next_action_type_id": acts[column][has]
                    .map({k: v[0] for k, v in NEXT_ACTIONS.items()})
                    .to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "workflow_link_id", np.arange(9_000_001, 9_000_001 + len(out)))
    return out


def _provisions(pop, pid) -> pd.DataFrame:
    s = pop.services
    codes = s["kind"].map({k: v[0] for k, v in SERVICE_CODES.items()})
    provider = s["provider"].astype(object)
    return pd.DataFrame(
        {
            "provision_id": np.arange(3_000_001, 3_000_001 + len(s)),
            "person_id": pid[s["person"].to_numpy()],
            "service_code": codes.to_numpy(),
            "provider_id": provider.to_numpy(),
            "cqc_location_id": common.cqc_locations(provider, CQC_PREFIX).to_numpy(),
            "start_date": iso(s["start"].to_numpy()),
            "end_date": iso(s["end"].to_numpy()),
            "end_reason": s["end_reason"].to_numpy(),
            "unit_cost": s["unit_cost"].to_numpy(),
            "cost_frequency": s["freq"].map(FREQUENCIES).to_numpy(),
            "planned_units": s["units"].to_numpy(),
            "delivery_code": s["delivery"].to_numpy(),
            "funding_code": s["funding"].to_numpy(),
            "team_code": np.where(s["team"].eq("CHILD"), "CSC", "ASC"),
            "status": s["status"].to_numpy(),
        }
    )


# --- the story people ------------------------------------------------------------------------
# Hand-written histories, one hard case of the CLD guidance each (README.md lists them). Ids
# are fixed: person 9000NN, their steps 9000NN01.., their service lines 9000NN51...


def _person(pid, first, last, sex, dob, eth, nhs_body, dod=None):
    return {
        "person_id": pid,
        "date_of_birth": dob,
        "date_of_death": dod,
        "gender": sex,
        "full_ethnicity_code": eth,
        "_first": first,
        "_last": last,
        "_nhs": nhs_check(nhs_body) if nhs_body else None,
    }


STORY_PEOPLE = [
    _person(900001, "Iris", "Exemplar", "F", "1948-03-14", "WBRI", "999000101"),
    _person(900002, "Victor", "Sample", "M", "1950-07-21", "AIND", "999000202"),
    _person(900003, "Martha", "Specimen", "F", "1941-09-02", "WBRI", "999000303"),
    _person(900004, "George", "Specimen", "M", "1943-01-27", "WBRI", "999000404"),
    _person(900005, "Walter", "Mockford", "M", "1936-11-30", "WIRI", "999000505"),
    _person(900006, "Edith", "Prototype", "F", "1958-05-19", "BCRB", "999000606"),
    _person(900007, "Harold", "Placeholder", "M", "1985-02-11", "WBRI", "999000707"),
    _person(900008, "Winifred", "Dummy", "F", "1939-12-08", "WBRI", "999000808", dod="2025-07-19"),
    _person(900009, "Cedric", "Instance", "M", "1952-10-03", "WEUR", "999000909"),
    _person(900010, "Rosa", "Testcase", "F", "1973-04-16", "MWAS", "999001010"),
    _person(900011, "Bernard", "Testcase", "M", "1968-08-25", "WBRI", None),
    _person(900012, "Agnes", "Mockup", "F", "1944-06-29", "WBRI", "999001212"),
    _person(900013, "Tobias", "Fixture", "M", "2007-11-05", "MWBC", "999001313"),
    _person(900014, "Ernest", "Template", "M", "1937-02-17", "WBRI", "999001414"),
]
# person: (postcode, accommodation, from), ...
STORY_ADDRESSES = {
    900001: [("EM2 4PL", "OWN", "2001-05-01")],
    900002: [("EM5 1RT", "TENLA", "2010-03-15")],
    900003: [("EM7 2DW", "OWN", "1975-08-01")],
    900004: [("EM7 2DW", "OWN", "1975-08-01")],
    900005: [("EM3 1AB", "OWN", "1990-04-01"), ("NX4 7QP", "CAREH", "2023-06-12")],
    900006: [("EM1 6HG", "TENLA", "2015-09-01")],
    900007: [("EM4 3JN", "SUPP", "2012-01-09")],
    900008: [("EM6 8LS", "OWN", "1968-10-01")],
    900009: [("EM8 5BU", "OWN", "1994-02-01")],
    900010: [("EM9 2XT", "TENPR", "2019-07-01")],
    900011: [("EM9 2XT", "TENPR", "2019-07-01")],
    900012: [("EM2 9NE", "OWN", "1979-05-01")],
    900013: [("EM4 7GH", "FAM", "2007-11-20")],
    900014: [("EM3 8FS", "OWN", "1969-09-01"), ("EM3 2QT", "NURSH", "2024-11-11")],
}
STORY_PSR = {
    900001: [("PSR_PHYS_PC", "2020-01-01")],
    900002: [("PSR_PHYS_AM", "2019-05-01")],
    900003: [("PSR_PHYS_PC", "2019-02-01"), ("PSR_MEM", "2025-03-24")],
    900005: [("PSR_PHYS_PC", "2021-03-01")],
    900006: [("PSR_PHYS_PC", "2024-08-01")],
    900007: [("PSR_LD", "2004-02-11")],
    900008: [("PSR_PHYS_PC", "2024-04-01")],
    900009: [("PSR_MH", "2018-06-01")],
    900011: [("PSR_PHYS_PC", "2024-06-01")],
    900012: [("PSR_PHYS_PC", "2024-11-25")],
    900013: [("PSR_LD", "2019-01-01")],
    900014: [("PSR_PHYS_PC", "2024-10-01")],
}
# person: {characteristic: value}
STORY_CHARACTERISTICS = {
    900001: {
        "EMPLOYMENT": "RETIRED",
        "HAS_CARER": "N",
        "ASD": "N",
        "DEMENTIA": "N",
        "SIGHT": "NONE",
        "HEARING": "HOH",
        "GP_PRACTICE": "E90001",
    },
    900002: {
        "EMPLOYMENT": "RETIRED",
        "HAS_CARER": "N",
        "ASD": "N",
        "DEMENTIA": "N",
        "SIGHT": "NONE",
        "HEARING": "NONE",
        "GP_PRACTICE": "E90002",
    },
    900003: {"HAS_CARER": "Y", "DEMENTIA": "Y", "SIGHT": "SI", "HEARING": "NONE"},
    900004: {"HAS_CARER": "N", "EMPLOYMENT": "RETIRED"},
    900005: {"HAS_CARER": "N", "DEMENTIA": "N"},
    900006: {"HAS_CARER": "N", "EMPLOYMENT": "PT"},
    900007: {"HAS_CARER": "N", "EMPLOYMENT": "SEEKING", "ASD": "Y"},
    900008: {"HAS_CARER": "N"},
    900009: {"HAS_CARER": "U"},
    900010: {"HAS_CARER": "N", "EMPLOYMENT": "FT"},
    900011: {"HAS_CARER": "Y", "EMPLOYMENT": "NOTSEEKING"},
    900012: {"HAS_CARER": "N"},
    900013: {"HAS_CARER": "Y", "EMPLOYMENT": "UNKNOWN", "ASD": "Y"},
    900014: {"HAS_CARER": "N"},
}
# step id: (type, person, started, completed, status, {question: answer}, [next actions])
STORY_STEPS = {
    # 1: conversation 1 at first contact -> a request and a short term assessment.
    90000101: (
        1101,
        900001,
        "2025-02-03",
        "2025-02-17",
        "COMPLETED",
        {"AT_FIRST_CONTACT": "Y", "ROUTE_OF_ACCESS": "HOSP_DIS", "METHOD": "SU"},
        ["NFA_IA"],
    ),
    # 2: contact, conversations 1, 2 (two next actions: the hierarchy picks reablement) and 3,
    # and a financial assessment (no outcome, no method).
    90000201: (
        1000,
        900002,
        "2024-11-04",
        "2024-11-04",
        "COMPLETED",
        {"ROUTE_OF_ACCESS": "COMM", "CLIENT_GROUP": "ADULT"},
        ["START_C1"],
    ),
    90000202: (
        1101,
        900002,
        "2024-11-05",
        "2024-11-12",
        "COMPLETED",
        {"AT_FIRST_CONTACT": "N", "METHOD": "SU"},
        ["START_C2"],
    ),
    90000203: (
        1102,
        900002,
        "2024-11-13",
        "2024-12-20",
        "COMPLETED",
        {"METHOD": "SU"},
        ["START_C3", "REFER_REAB"],
    ),
    90000204: (
        1103,
        900002,
        "2025-01-06",
        "2025-02-14",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "SU"},
        ["ARRANGE_SERVICES"],
    ),
    90000205: (1107, 900002, "2025-02-20", "2025-03-10", "COMPLETED", {"FA_OUTCOME": "JOINT"}, []),
    90000206: (
        1201,
        900002,
        "2025-04-14",
        "2025-04-16",
        "COMPLETED",
        {"REVIEW_REASON": "PLANNED", "OUTCOMES_MET": "NA", "METHOD": "SU"},
        ["CONTINUE_SERVICES"],
    ),
    # 3: a joint assessment: Martha's conversation 3 with George involved, and George's own
    # carer's assessment, linked to Martha.
    90000301: (
        1000,
        900003,
        "2025-03-24",
        "2025-03-24",
        "COMPLETED",
        {"ROUTE_OF_ACCESS": "COMM", "CLIENT_GROUP": "ADULT"},
        ["START_C3"],
    ),
    90000302: (
        1103,
        900003,
        "2025-04-01",
        "2025-04-28",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "JOINT"},
        ["ARRANGE_SERVICES"],
    ),
    90000401: (
        1104,
        900004,
        "2025-04-01",
        "2025-04-28",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "JOINT", "CARER_HOURS": "H50P", "ADULTS_CARED_FOR": 1},
        ["ARRANGE_SERVICES"],
    ),
    # 5: Walter's financial assessment (before the period) still sets his funding status.
    90000501: (
        1107,
        900005,
        "2023-06-05",
        "2023-06-30",
        "COMPLETED",
        {"FA_OUTCOME": "FULL_LA"},
        [],
    ),
    # 5: Harold's review (learning disability, 40: employment status is mandatory).
    90000701: (
        1201,
        900007,
        "2025-06-10",
        "2025-06-12",
        "COMPLETED",
        {"REVIEW_REASON": "PLANNED", "OUTCOMES_MET": "PART", "METHOD": "SU"},
        ["CONTINUE_SERVICES"],
    ),
    # 5: Winifred died on 19/07/2025 during a review: the review is not a CLD event, nor is
    # the case closure.
    90000801: (
        1201,
        900008,
        "2025-07-10",
        "2025-07-25",
        "COMPLETED",
        {"REVIEW_REASON": "PLANNED", "OUTCOMES_MET": "FULL", "METHOD": "SU"},
        ["CONTINUE_SERVICES"],
    ),
    90000802: (1501, 900008, "2025-07-28", "2025-07-28", "COMPLETED", {}, []),
    # 6: rolling 12 months: completed before the period (out), on its last day (in), after
    # its end (out).
    90000901: (
        1103,
        900009,
        "2024-08-12",
        "2024-09-20",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "SU"},
        ["ARRANGE_SERVICES"],
    ),
    90000902: (
        1201,
        900009,
        "2025-09-15",
        "2025-09-30",
        "COMPLETED",
        {"REVIEW_REASON": "PLANNED", "OUTCOMES_MET": "FULL", "METHOD": "SU"},
        ["CONTINUE_SERVICES"],
    ),
    90000903: (
        1201,
        900009,
        "2025-09-26",
        "2025-10-03",
        "COMPLETED",
        {"REVIEW_REASON": "HOSP", "OUTCOMES_MET": "NA", "METHOD": "SU"},
        ["CHANGE_SERVICES"],
    ),
    # 7: an unpaid carer's request (no route recorded), assessment, direct payment and review
    # (no reason recorded).
    90001001: (
        1000,
        900010,
        "2025-01-09",
        "2025-01-09",
        "COMPLETED",
        {"CLIENT_GROUP": "CARER"},
        ["START_CARER"],
    ),
    90001002: (
        1104,
        900010,
        "2025-01-20",
        "2025-02-11",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "CARER", "CARER_HOURS": "H20_34", "ADULTS_CARED_FOR": 1},
        ["ARRANGE_SERVICES"],
    ),
    90001003: (
        1202,
        900010,
        "2025-08-18",
        "2025-08-20",
        "COMPLETED",
        {"OUTCOMES_MET": "FULL", "METHOD": "CARER", "CARER_HOURS": "H20_34"},
        ["CONTINUE_SERVICES"],
    ),
    # Release 1 outcome text on the old form; out-of-scope steps; a cancelled conversation;
    # a casual contact.
    90001201: (
        1103,
        900012,
        "2024-12-02",
        "2025-01-15",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "SU", "OUTCOME": "NFA - Moved to another LA"},
        [],
    ),
    90001202: (1301, 900012, "2025-03-03", "2025-04-11", "COMPLETED", {}, []),
    90001203: (1302, 900012, "2025-05-06", "2025-05-20", "COMPLETED", {}, []),
    90001204: (1303, 900012, "2025-06-02", "2025-06-02", "COMPLETED", {}, []),
    90001205: (
        1101,
        900012,
        "2025-02-10",
        None,
        "CANCELLED",
        {"AT_FIRST_CONTACT": "N", "METHOD": "SU"},
        [],
    ),
    90001206: (
        1000,
        900012,
        "2025-03-20",
        "2025-03-20",
        "COMPLETED",
        {"CLIENT_GROUP": "ADULT", "CASUAL_CONTACT": "Y"},
        ["NFA_IA"],
    ),
    # Transition: children's assessment (out), then an adult request at 17.
    90001301: (1401, 900013, "2025-01-06", "2025-02-03", "COMPLETED", {}, []),
    90001302: (
        1101,
        900013,
        "2025-06-16",
        "2025-07-04",
        "COMPLETED",
        {"AT_FIRST_CONTACT": "Y", "ROUTE_OF_ACCESS": "TRANS", "METHOD": "SU"},
        ["START_C3"],
    ),
    # Fully NHS-funded nursing care (out) after an assessment referring to the NHS (in).
    90001401: (
        1103,
        900014,
        "2024-10-07",
        "2024-11-01",
        "COMPLETED",
        {"ELIGIBILITY": "ELIG", "METHOD": "SU"},
        ["NFA_NHS"],
    ),
}
PROVISION_COLUMNS = (
    "person_id",
    "service_code",
    "provider_id",
    "start_date",
    "end_date",
    "end_reason",
    "unit_cost",
    "cost_frequency",
    "planned_units",
    "delivery_code",
    "funding_code",
    "team_code",
    "status",
)
# provision id: (person, service code, provider, start, end, end reason, cost, frequency,
#                units, delivery, funding, team, status): PROVISION_COLUMNS
# fmt: off
STORY_PROVISIONS = {
    90000251: (900002, "REABLE", "PR10", "2024-12-23", "2025-01-31", "PLANNED", None, None, None,
               "COMM", "LA", "ASC", "ENDED"),
    90000252: (900002, "HOMECARE", "PR55", "2025-02-24", None, None, 23.40, "HOUR", 12, "MPB",
               "LA", "ASC", "ACTIVE"),
    90000351: (900003, "HOMECARE", "PR57", "2025-05-06", None, None, 19.80, "HOUR", 14, "MPB",
               "LA", "ASC", "ACTIVE"),
    90000352: (900003, "RESPITE", "PR33", "2025-06-02", "2025-06-15", "PLANNED", 720.00, "WEEK",
               None, "MPB", "LA", "ASC", "ENDED"),
    # Uplifts: three lines, one service from 12/06/2023.
    90000551: (900005, "RESCARE", "PR41", "2023-06-12", "2024-03-31", "UPLIFT", 850.00, "WEEK",
               None, "MPB", "LA", "ASC", "ENDED"),
    90000552: (900005, "RESCARE", "PR41", "2024-04-01", "2025-03-31", "UPLIFT", 892.50, "WEEK",
               None, "MPB", "LA", "ASC", "ENDED"),
    90000553: (900005, "RESCARE", "PR41", "2025-04-01", None, None, 937.13, "WEEK", None, "MPB",
               "LA", "ASC", "ACTIVE"),
    # A provider change (two services) and a direct payment beside them (a third).
    90000651: (900006, "HOMECARE", "PR52", "2024-09-02", "2025-01-31", "PROVIDER_CHANGE", 21.00,
               "HOUR", 10, "MPB", "LA", "ASC", "ENDED"),
    90000652: (900006, "HOMECARE", "PR60", "2025-02-01", None, None, 22.10, "HOUR", 10, "MPB",
               "LA", "ASC", "ACTIVE"),
    90000653: (900006, "DAYCARE", None, "2024-09-02", None, None, 55.00, "DAY", 2, "DP", "LA",
               "ASC", "ACTIVE"),
    # Suspended (the system holds the suspension date as the end), cancelled, never started.
    90000751: (900007, "HOMECARE", "PR58", "2024-06-03", "2025-08-20", "SUSPENDED", 24.00, "HOUR",
               20, "MPB", "LA", "ASC", "SUSPENDED"),
    90000752: (900007, "DAYCARE", "PR71", "2025-03-01", None, None, 60.00, "DAY", 3, "MPB", "LA",
               "ASC", "CANCELLED"),
    90000753: (900007, "MEALS", "PR72", "2025-05-10", "2025-05-09", "DECLINED", 6.50, "SESSION", 7,
               "MPB", "LA", "ASC", "ENDED"),
    # Open when Winifred died: the service ends at the death.
    90000851: (900008, "HOMECARE", "PR53", "2024-05-01", None, None, 20.50, "HOUR", 7, "MPB", "LA",
               "ASC", "ACTIVE"),
    90000951: (900009, "DAYCARE", "PR70", "2024-01-15", "2024-08-31", "PLANNED", 58.00, "DAY", 2,
               "MPB", "LA", "ASC", "ENDED"),
    90000952: (900009, "HOMECARE", "PR54", "2024-09-01", None, None, 22.00, "HOUR", 6, "MPB", "LA",
               "ASC", "ACTIVE"),
    90001051: (900010, "CARERDP", None, "2025-02-24", "2025-02-24", "PLANNED", 300.00, "ONEOFF",
               None, "DP", "LA", "ASC", "ENDED"),
    90001151: (900011, "HOMECARE", "PR56", "2024-07-01", None, None, 18.00, "HOUR", 15, "DP", "LA",
               "ASC", "ACTIVE"),
    90001351: (900013, "DAYCARE", "PR71", "2025-02-10", None, None, 48.00, "DAY", 2, "MPB", "LA",
               "CSC", "ACTIVE"),
    90001451: (900014, "NURSCARE", "PR44", "2024-11-11", None, None, 1250.00, "WEEK", None, "MPB",
               "CHC", "ASC", "ACTIVE"),
}
# fmt: on
STORY_RELATIONSHIPS = {  # relationship id: (carer, cared-for person, start)
    5900004: (900004, 900003, "2020-06-01"),
    5900010: (900010, 900011, "2023-02-01"),
}


def story_rows() -> common.StoryRows:
    """The story people's rows, table by table (literal data, no randomness)."""
    rows = common.StoryRows()
    for p in STORY_PEOPLE:
        pid = p["person_id"]
        rows.add("dm_persons", **{k: v for k, v in p.items() if not k.startswith("_")})
        rows.add(
            "dm_person_names",
            person_id=pid,
            name_class_id="MAIN",
            first_names=p["_first"],
            last_name=p["_last"],
            start_date=p["date_of_birth"],
            end_date=None,
        )
        if p["_nhs"]:
            rows.add(
                "dm_person_references", person_id=pid, reference_type="NHS", reference=p["_nhs"]
            )
        for ctype, value in STORY_CHARACTERISTICS.get(pid, {}).items():
            rows.add(
                "dm_person_characteristics",
                person_id=pid,
                characteristic_type=ctype,
                characteristic_value=value,
                start_date="2021-04-01",
                end_date=None,
            )
        addresses = STORY_ADDRESSES.get(pid, [])
        columns = ("post_code", "accommodation_code", "start_date")
        rows.dated("dm_addresses", "address_id", pid, addresses, columns, DATES[1])
        columns = ("classification_code", "start_date")
        psr = STORY_PSR.get(pid, [])
        rows.dated("dm_person_classifications", "classification_id", pid, psr, columns, DATES[1])
    answer_id = 99_000_001
    link_id = 99_000_001
    for step_id, (stype, pid, started, completed, status, answers, actions) in STORY_STEPS.items():
        rows.add(
            "dm_workflow_steps",
            workflow_step_id=step_id,
            workflow_step_type_id=stype,
            subject_person_id=pid,
            incoming_on=started,
            started_on=started,
            completed_on=completed,
            cancelled_on=None
            if status != "CANCELLED"
            else str(np.datetime64(started) + np.timedelta64(1, "D")),
            step_status=status,
            responsible_team_id="CSC" if stype == 1401 else "ASC",
        )
        for question, answer in answers.items():
            number = answer if isinstance(answer, int) else None
            rows.add(
                "dm_cached_form_answers",
                form_answer_id=answer_id,
                workflow_step_id=step_id,
                question_user_code=question,
                text_answer=None if number else answer,
                date_answer=None,
                number_answer=number,
            )
            answer_id += 1
        for action in actions:
            rows.add(
                "dm_workflow_links",
                workflow_link_id=link_id,
                source_step_id=step_id,
                target_step_id=None,
                workflow_next_action_type_id=NEXT_ACTIONS[action][0],
            )
            link_id += 1
    cqc = common.cqc_location(CQC_PREFIX, "provider_id")
    lines = STORY_PROVISIONS
    rows.keyed(
        "dm_service_provisions", "provision_id", lines, PROVISION_COLUMNS, cqc_location_id=cqc
    )
    columns = ("person_id", "other_person_id", "start_date")
    carers = {"relationship_type": "UNPAID_CARER", "end_date": None}
    rows.keyed("dm_relationships", "relationship_id", STORY_RELATIONSHIPS, columns, **carers)
    return rows


STORY_PERSON_IDS = [p["person_id"] for p in STORY_PEOPLE]
PERIOD_HINT = (day("2024-10-01"), day("2025-09-30"))
