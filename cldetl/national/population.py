"""Where a run's population figures come from: the mapping's `population` section (the figures,
or a CSV it names), or a CSV given on the command line (`cldetl measures --population`).

Rates per 100,000 (ASCOF 2B and 2C) need ONS mid-year estimates by age band; without them the
measures are counts with no rate, and the report says where to put the figures. Every rate
shown names its source, so a reader can check the figures it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cldetl.errors import InputError
from cldetl.mapping import Mapping, where_in_mapping
from cldetl.national.measures import read_population

# What the report says when no population was given, and where to put one.
WHERE_TO_PUT_IT = (
    "Rates per 100,000 need population figures (ONS mid-year estimates by age band): add a "
    "`population` section to the mapping (by_age_band, or a CSV file with columns "
    "age_band,population, with its source and year; docs/mapping.md), or give "
    "`cldetl measures --population FILE`."
)


@dataclass(frozen=True)
class PopulationFigures:
    """ONS mid-year estimates by age band, and where they come from (for the report)."""

    by_band: dict[str, int]
    source: str  # e.g. "ONS mid-2024 population estimates, table MYE2 (2024)"
    given_in: str  # e.g. "mappings/eastmoor.yaml population" or "--population pop.csv"


def population_file(path: str | Path) -> PopulationFigures:
    """A CSV of ONS mid-year estimates given on the command line (`--population`)."""
    return PopulationFigures(read_population(Path(path)), f"the file {Path(path).name}", str(path))


def mapping_population(mapping: Mapping) -> PopulationFigures | None:
    """The mapping's population figures (None when it has no `population` section); a CSV it
    names is read now, and a bad one is an InputError (exit 2) naming the mapping's line too."""
    given = mapping.population
    if given is None:
        return None
    source = f"{given.source} ({given.year})"
    where = f"{mapping.path or 'the mapping'} population"
    if given.by_age_band is not None:
        return PopulationFigures(dict(given.by_age_band), source, where)
    assert given.file is not None
    path = Path(given.file).expanduser()
    if not path.is_absolute():
        base = Path(mapping.path).resolve().parent if mapping.path else Path.cwd()
        path = base / path
    try:
        figures = read_population(path)
    except InputError as exc:
        raise InputError(
            f"{where_in_mapping(mapping, 'population', 'file')} (relative to the mapping "
            f"file): {exc}"
        ) from None
    return PopulationFigures(figures, source, where)


def chosen_population(
    file: str | None, mapping: Mapping | None
) -> tuple[PopulationFigures | None, str]:
    """`cldetl measures`: the population of `--population FILE` or of `--mapping`'s
    `population` section. A file given on the command line wins over the mapping (it is the
    more particular choice); the second value says which was used when both were given."""
    from_mapping = mapping_population(mapping) if mapping is not None else None
    if file is None:
        return from_mapping, ""
    chosen = population_file(file)
    if from_mapping is None:
        return chosen, ""
    return chosen, (
        f"Population: using --population {file}, not the population section of {mapping.path}."
    )
