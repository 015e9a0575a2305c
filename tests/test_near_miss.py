"""Near-miss suggestions for defined-list values (issue 20, point 9): the entry sharing the most
words wins over the closer spelling, a typo still finds its word, and a guess among equals is
not offered."""

from __future__ import annotations

import pytest

from cldetl.spec import load_spec
from cldetl.validate.checks.lists import classify, nearest

SPEC = load_spec()
FIELDS = {field.name: field for field in SPEC.fields}

WHITE_BRITISH = "White: English, Welsh, Scottish, Northern Irish or British"


@pytest.mark.parametrize(
    ("field", "value", "suggested"),
    [
        # most words in common, not the closest spelling ("White: Irish")
        ("Ethnicity", "White British", WHITE_BRITISH),
        ("Ethnicity", "white british", WHITE_BRITISH),
        ("Ethnicity", "British", None),  # Asian British? Black British? no guess
        ("Ethnicity", "Asian Indian", "Asian or Asian British: Indian"),
        ("Ethnicity", "Pakistani", "Asian or Asian British: Pakistani"),
        ("Ethnicity", "White and Asian", "Mixed or multiple ethnic groups: White and Asian"),
        ("Ethnicity", "Gypsy", "White: Gypsy or Irish Traveller"),
        # words shared with several entries alike: the spelling decides, if it is a typo
        ("Ethnicity", "White Irsh", "White: Irish"),
        # ... and otherwise no guess
        ("Ethnicity", "Other", None),
        ("Ethnicity", "Black African", None),
        # no word shared: a typo of an entry, or nothing
        ("Event Type", "Asesment", "Assessment"),
        ("Event Type", "Sevice", "Service"),
        ("Event Type", "Carer row", None),
        ("Ethnicity", "xyz", None),
    ],
)
def test_the_suggestion_is_the_entry_meant(field, value, suggested):
    assert nearest(value, list(FIELDS[field].values)) == suggested


def test_the_message_says_did_you_mean_the_word_match():
    rule, message = classify(SPEC, FIELDS["Ethnicity"], "White British")
    assert rule == "list.value"
    assert message.endswith(f"Did you mean '{WHITE_BRITISH}'?")
    assert "White: Irish" not in message
