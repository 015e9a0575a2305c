"""The reference data onboarding reads: the example mappings a starter follows, the meanings
of their local codes, and the matching thresholds, all shipped as package data.

They live in the project's `mappings/` folder (the examples are run and tested there) and are
reached from the package through `cldetl/onboarding/reference`, a link to that folder that the
wheel build copies in, so an installed cldetl reads the same files through `importlib.resources`
as a checkout does. A file that is missing or cannot be read is an error, never "no matches":
a starter written without its meanings would silently keep every example code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from cldetl.errors import CldetlError
from cldetl.mapping import safe_yaml

REFERENCE_MAPPINGS = {"mosaic": "eastmoor.yaml", "liquidlogic": "westvale.yaml"}
"""Per system, the example authority whose sources, event rules and lookups a starter follows."""


class OnboardingError(CldetlError):
    """A starter mapping, profile or review that cannot be made (unknown system, no database,
    missing reference data, a workbook that no longer matches)."""


def _folder() -> Traversable:
    return resources.files("cldetl.onboarding") / "reference"


def read_reference(*parts: str) -> tuple[str, Any]:
    """A reference YAML file's name (for messages) and its data; an error when missing."""

    path = _folder().joinpath(*parts)
    name = "/".join(("cldetl/onboarding/reference", *parts))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OnboardingError(
            f"{name}: cannot be read ({type(exc).__name__}); the installed cldetl is "
            "incomplete: reinstall it."
        ) from None
    data = safe_yaml.load(text, name)
    if not isinstance(data, dict):
        raise OnboardingError(f"{name}: not a YAML mapping; reinstall cldetl.")
    return name, data


def reference_mapping(system: str) -> tuple[str, dict]:
    """The example mapping a starter on `system` follows: its file name and its data."""

    try:
        file = REFERENCE_MAPPINGS[system]
    except KeyError:
        raise OnboardingError(
            f"system '{system}': use one of {', '.join(sorted(REFERENCE_MAPPINGS))}."
        ) from None
    _, data = read_reference(file)
    return file, data


def meanings_data(system: str) -> dict:
    """The meanings of the example's local codes on `system` (mappings/meanings/<system>.yaml)."""

    if system not in REFERENCE_MAPPINGS:
        raise OnboardingError(
            f"system '{system}': use one of {', '.join(sorted(REFERENCE_MAPPINGS))}."
        )
    return read_reference("meanings", f"{system}.yaml")[1]


@dataclass(frozen=True)
class Thresholds:
    """mappings/meanings/thresholds.yaml (each documented there)."""

    good_fit: float
    good_match: float
    max_codes: int
    max_code_length: int
    candidates_shown: int


def thresholds() -> Thresholds:
    name, data = read_reference("meanings", "thresholds.yaml")
    try:
        return Thresholds(
            good_fit=float(data["good_fit"]),
            good_match=float(data["good_match"]),
            max_codes=int(data["max_codes"]),
            max_code_length=int(data["max_code_length"]),
            candidates_shown=int(data["candidates_shown"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OnboardingError(f"{name}: {exc!s} is missing or not a number.") from None
