"""The working columns and reasons the transform's steps share: columns every candidate row
carries for lineage and accounting (dropped before the CLD fields are written), and the reasons
the transform writes by itself into exclusions.csv."""

from __future__ import annotations

from cldetl.transform.person_details import PERSON
from cldetl.transform.service_lines import MEMBER_KEYS
from cldetl.transform.sources import KEY

CANDIDATE = "_candidate"
LINKED = "_linked"  # every linked person ID a row names, ';'-separated, in mapping order
LINKED_FIELDS = [f"Adult {i} Linked Person_ID" for i in (1, 2, 3)]
NOT_KNOWN = (
    "not known to the local authority: not in the person source (the guidance links only "
    "adults known to the LA, i.e. service users in CLD: Adult 1/2/3 Linked Person_ID)"
)
BEYOND_THREE = (
    "more than three linked adults known to the local authority: CLD has three Linked Person_ID "
    "fields (guidance, Adult 1/2/3 Linked Person_ID); the first three in mapping order are kept"
)
KIND = "_kind"  # event | carer_by_association
RULE, ROW, SOURCE = "_rule", "_row", "_source"
# What the accounting after `format_cld` reads of each output row (the ledger and lineage).
# The columns of `rows` the accounting still reads once the CLD fields have moved into `cld`.
ACCOUNTING_COLUMNS = [CANDIDATE, SOURCE, KEY, RULE, ROW, PERSON, MEMBER_KEYS]
ACCOUNTING_COLUMNS += ["Event Reference", "Event Type", "Client Type"]
NO_RULE = "no event rule takes this record (add a rule or an exclusion to the mapping)"
NO_PERSON = "no person details: the person is not in the person source (a casual contact?)"
DETAILS_UNUSED = "person details not needed: no CLD row for this person in the period"
ORPHAN_CARER = "its record's event row is not in the return: "
DUPLICATE_CARER = "duplicate: this unpaid carer known by association row is already in the return"
NO_ROWS = "gave no CLD row"
