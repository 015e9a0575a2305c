"""DHSC's processing as data: cldetl/spec/national.yaml, with the citation of each step."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def national_method() -> dict[str, Any]:
    """Every threshold, list and exception of DHSC's processing (cldetl/spec/national.yaml)."""
    text = resources.files("cldetl").joinpath("spec/national.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)
