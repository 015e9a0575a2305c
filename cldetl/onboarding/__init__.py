"""Onboarding a new authority: a starter mapping written from its own database that never
ships a guess (starter), the gate that says when a mapping is ready (profile), the sign-off
workbook practice leads fill in (review), and the refusal to run an unchecked mapping (marks).

Modules, each one job:
- reference: the example mappings, meanings and thresholds, as package data
- staging: the owner-only folder the rows read are kept in, removed on exit
- yaml_text: database text written into YAML as data, loaded back and compared
- usages: where lookups and filters meet local codes (and the records their rules take)
- code_lists: national code lists (NHS Data Dictionary) mapped exactly
- suggestions: a CLD value for a code, certain or a scored list of candidates
- local_codes: this install's own codes for the example's (question codes, statuses...)
- starter, starter_codes, starter_lookups, database_notes: the starter mapping itself
- profile: `cldetl profile`, the gate; rule_history: rules' rows in the earlier run
- marks: TODO and unchecked marks, and the run's refusal while any remain
- review: the mapping-review workbook and applying it back to the YAML
"""

from cldetl.onboarding.marks import UncheckedMappingError, mapping_marks, refuse_unchecked
from cldetl.onboarding.profile import Profile, profile_lookups, profile_mapping, profile_text
from cldetl.onboarding.reference import REFERENCE_MAPPINGS, OnboardingError
from cldetl.onboarding.starter import Starter, starter_mapping
from cldetl.onboarding.suggestions import Suggestion, suggest

__all__ = [
    "REFERENCE_MAPPINGS",
    "OnboardingError",
    "Profile",
    "Starter",
    "Suggestion",
    "UncheckedMappingError",
    "mapping_marks",
    "profile_lookups",
    "profile_mapping",
    "profile_text",
    "refuse_unchecked",
    "starter_mapping",
    "suggest",
]
