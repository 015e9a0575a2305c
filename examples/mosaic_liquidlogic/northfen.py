"""Northfen (LA Code 996): a fictional authority on Mosaic, configured differently from
Eastmoor, to show that a new authority is onboarded through its mapping alone.

Northfen works the same cases as Eastmoor (the same population and story people, so the
golden tests can hold it to the same rows), but its Mosaic install was set up by another
team: its form question codes, step statuses, service statuses, step type ids, relationship,
characteristic, reference and name-class codes are its own, and its person IDs are text
(`N900001`). Nothing in `connectors/` changes: `mappings/northfen.yaml` sets the template
parameters and the filters to these local values.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import MetaData, String, Table

from . import eastmoor
from .population import Population

LA_CODE = "996"
AREA = "NF"
FIRST_PERSON_ID = eastmoor.FIRST_PERSON_ID
PERSON_PREFIX = "N"

STEP_TYPE_IDS = {  # Eastmoor's id -> Northfen's id for the same kind of step
    1000: 10,
    1101: 21,
    1102: 22,
    1103: 23,
    1104: 24,
    1105: 25,
    1107: 27,
    1201: 31,
    1202: 32,
    1301: 41,
    1302: 42,
    1303: 43,
    1304: 44,
    1401: 51,
    1501: 61,
}
QUESTION_CODES = {  # form question_user_code
    "ROUTE_OF_ACCESS": "Q_ROUTE",
    "CLIENT_GROUP": "Q_CLIENTGRP",
    "CASUAL_CONTACT": "Q_CASUAL",
    "AT_FIRST_CONTACT": "Q_FIRSTCONTACT",
    "METHOD": "Q_HOW_HELD",
    "ELIGIBILITY": "Q_ELIGIBLE",
    "CARER_HOURS": "Q_CARER_HRS",
    "ADULTS_CARED_FOR": "Q_NUM_CARED",
    "REVIEW_REASON": "Q_REV_REASON",
    "OUTCOMES_MET": "Q_OUTCOMES",
    "OUTCOME": "Q_OUTCOME_TXT",
    "FA_OUTCOME": "Q_FIN_RESULT",
}
STEP_STATUSES = {
    "COMPLETED": "FINISHED",
    "CANCELLED": "WITHDRAWN",
    "STARTED": "IN_PROGRESS",
    "INCOMING": "PENDING",
}
SERVICE_STATUSES = {
    "CANCELLED": "VOID",
    "SUSPENDED": "ON_HOLD",
    "ACTIVE": "LIVE",
    "ENDED": "CLOSED",
}
RELATIONSHIP_TYPES = {"UNPAID_CARER": "CARER_OF"}
CHARACTERISTIC_TYPES = {
    "GP_PRACTICE": "GP",
    "EMPLOYMENT": "EMP_STATUS",
    "HAS_CARER": "CARER_FLAG",
    "ASD": "AUTISM",
    "DEMENTIA": "DEMENTIA_DX",
    "SIGHT": "VISION",
    "HEARING": "HEARING_LOSS",
}
REFERENCE_TYPES = {"NHS": "NHSNO", "LEGACY": "OLDREF"}
NAME_CLASSES = {"MAIN": "LEGAL", "PREVIOUS": "FORMER"}

PERSON_COLUMNS = {  # table -> columns holding a person ID
    "dm_persons": ["person_id"],
    "dm_person_names": ["person_id"],
    "dm_person_references": ["person_id"],
    "dm_person_characteristics": ["person_id"],
    "dm_addresses": ["person_id"],
    "dm_person_classifications": ["person_id"],
    "dm_workflow_steps": ["subject_person_id"],
    "dm_relationships": ["person_id", "other_person_id"],
    "dm_service_provisions": ["person_id"],
}
RECODED = {  # (table, column) -> Eastmoor code -> Northfen code
    ("dm_workflow_step_types", "workflow_step_type_id"): STEP_TYPE_IDS,
    ("dm_workflow_steps", "workflow_step_type_id"): STEP_TYPE_IDS,
    ("dm_workflow_steps", "step_status"): STEP_STATUSES,
    ("dm_cached_form_answers", "question_user_code"): QUESTION_CODES,
    ("dm_service_provisions", "status"): SERVICE_STATUSES,
    ("dm_relationships", "relationship_type"): RELATIONSHIP_TYPES,
    ("dm_person_characteristics", "characteristic_type"): CHARACTERISTIC_TYPES,
    ("dm_person_references", "reference_type"): REFERENCE_TYPES,
    ("dm_person_names", "name_class_id"): NAME_CLASSES,
}


def person_id(eastmoor_id) -> str:
    """Northfen's text person ID for a person Eastmoor numbers `eastmoor_id`."""
    return f"{PERSON_PREFIX}{int(eastmoor_id)}"


def tables(metadata: MetaData) -> dict[str, Table]:
    """Eastmoor's Mosaic tables, with person IDs held as text."""
    out = eastmoor.tables(metadata)
    for name, columns in PERSON_COLUMNS.items():
        for column in columns:
            out[name].columns[column].type = String(12)
    return out


def frames(pop: Population, include_story: bool = True) -> dict[str, pd.DataFrame]:
    """Eastmoor's records in Northfen's local codes and text person IDs."""
    out = eastmoor.frames(pop, include_story)
    for (table, column), codes in RECODED.items():
        frame = out[table]
        values = frame[column]
        unknown = set(values.dropna().unique()) - set(codes)
        assert not unknown, f"{table}.{column}: no Northfen code for {sorted(unknown)}"
        out[table] = frame.assign(**{column: values.map(codes).where(values.notna(), None)})
    for table, columns in PERSON_COLUMNS.items():
        frame = out[table]
        recoded = {}
        for column in columns:
            numbers = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
            text = PERSON_PREFIX + numbers.astype("string")
            recoded[column] = text.astype(object).where(numbers.notna(), None)
        out[table] = frame.assign(**recoded)
    return out


STORY_PERSON_IDS = [person_id(p) for p in eastmoor.STORY_PERSON_IDS]
