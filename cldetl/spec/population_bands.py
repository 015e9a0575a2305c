"""The age bands a population is given by: those the measures take a rate of (ASCOF 2B and 2C,
cldetl/spec/national_measures.yaml `ascof_2bc.bands`), read from the spec data, never retyped.

Here, in the spec stage, because both the mapping (its `population` section) and the national
measures (`read_population`) check a population against them, and the mapping comes first.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def population_age_bands() -> tuple[str, ...]:
    """The band labels, in the spec's order: ('18 to 64', '65 and above') today."""
    text = resources.files("cldetl").joinpath("spec/national_measures.yaml").read_text("utf-8")
    bands = yaml.safe_load(text)["ascof_2bc"]["bands"]
    return tuple(str(band["label"]) for band in bands.values())
