"""The mapping's `population` section (ONS mid-year estimates for the rates per 100,000 of
ASCOF 2B and 2C): what it accepts, and each refusal naming the file, line and key (exit 2).

The age bands are the measures' own (cldetl/spec/national_measures.yaml `ascof_2bc.bands`), so
the tests take them from there too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.errors import InputError
from cldetl.mapping import MappingError, load_mapping
from cldetl.national.measures import measures_method, read_population
from cldetl.national.population import chosen_population, mapping_population
from cldetl.spec.population_bands import population_age_bands
from tests.conftest import RESIDENTIAL, row, write_rows

BASE = Path(__file__).parent / "data" / "mapping_files" / "testshire.yaml"
YOUNG, OLD = (band["label"] for band in measures_method()["ascof_2bc"]["bands"].values())
SOURCE = "ONS mid-2024 population estimates, table MYE2"
GOOD = f"""
population:
  source: "{SOURCE}"
  year: 2024
  by_age_band:
    {YOUNG}: 200000
    {OLD}: 50000
"""


def _mapping(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "la.yaml"
    path.write_text(BASE.read_text(encoding="utf-8") + section, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_bands_are_the_measures_own():
    assert population_age_bands() == (YOUNG, OLD) == ("18 to 64", "65 and above")


def test_figures_in_the_mapping_load_with_their_source_and_year(tmp_path):
    mapping = load_mapping(_mapping(tmp_path, GOOD))
    figures = mapping_population(mapping)
    assert figures.by_band == {YOUNG: 200_000, OLD: 50_000}
    assert figures.source == f"{SOURCE} (2024)"
    assert mapping_population(load_mapping(BASE)) is None  # no section: counts, no rate


# (section text, the line's needle, the dotted key and message expected)
REFUSED = [
    (GOOD.replace(f"{YOUNG}: 200000", "18-64: 200000"), "18-64",
     "population.by_age_band.18-64: '18-64' is not an age band of the measures; did you mean "
     "'18 to 64'?"),
    (GOOD.replace(f"    {OLD}: 50000\n", ""), "by_age_band:",
     "population.by_age_band: no figure for the age band '65 and above'"),
    (GOOD.replace("200000", '"200,000"'), "200,000",
     "population.by_age_band.18 to 64: '200,000' is not a whole number of people"),
    (GOOD.replace("200000", "200000.5"), "200000.5",
     "population.by_age_band.18 to 64: '200000.5' is not a whole number of people"),
    (GOOD.replace("50000", "0"), f"{OLD}: 0",
     "population.by_age_band.65 and above: '0' is not a whole number of people"),
    (GOOD.replace("50000", "yes"), f"{OLD}: yes",
     "population.by_age_band.65 and above: 'True' is not a whole number of people"),
    (GOOD.replace(f'  source: "{SOURCE}"\n', ""), "population:",
     "population.source: missing required key 'source'"),
    (GOOD.replace(SOURCE, " "), 'source: " "',
     "population.source: say where the figures come from"),
    (GOOD.replace("year: 2024", "year: 24"), "year: 24",
     "population.year: '24' is not the year of the mid-year estimates"),
    (GOOD.replace("year: 2024", "year: mid-2024"), "year: mid-2024",
     "population.year: 'mid-2024' is not the year of the mid-year estimates"),
    (GOOD + "  file: population.csv\n", "population:",
     "population: give either by_age_band (the figures) or file"),
    ("\npopulation:\n  source: ONS\n  year: 2024\n", "population:",
     "population: give either by_age_band (the figures) or file"),
    (GOOD.replace("by_age_band:", "by_band:"), "by_band:",
     "population.by_band: unknown key 'by_band'; did you mean 'by_age_band'?"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "needle", "expected"), REFUSED)
def test_a_bad_population_is_refused_naming_file_line_and_key(tmp_path, section, needle, expected):
    path = _mapping(tmp_path, section)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert f"{path}:{_line_of(path, needle)} {expected}" in str(info.value)


def test_a_bad_population_stops_the_cli_with_exit_2_and_no_traceback(tmp_path):
    path = _mapping(tmp_path, REFUSED[0][0])
    result = CliRunner().invoke(cli, ["test-mapping", str(path)])
    assert result.exit_code == 2, result.output
    assert "not an age band of the measures" in result.output
    assert "Traceback" not in result.output


# --- the CSV form: the same file `cldetl measures --population` reads --------------------------

FILE_SECTION = f'\npopulation:\n  source: "{SOURCE}"\n  year: 2024\n  file: pop.csv\n'

# (CSV text, what the message says after the mapping's file:line population.file)
BAD_FILES = [
    (None, "pop.csv: cannot read the population file (No such file or directory)"),
    (f"age_band,population\n{YOUNG},200000\n{OLD},50.5\n",
     "line 3, column population: 50.5 is not a whole number of people"),
    (f"age_band,population\n{YOUNG},200000\n65+,50000\n",
     "line 3, column age_band: not an age band of the measures: 65+"),
    (f"age_band,population\n{YOUNG},200000\n{YOUNG},50000\n",
     "line 3, column age_band: a second figure for 18 to 64"),
    (f"age_band,population\n{YOUNG},200000\n", "no row for the age band '65 and above'"),
    ("band,people\n", "needs the columns age_band,population"),
]  # fmt: skip


@pytest.mark.parametrize(("csv_text", "expected"), BAD_FILES)
def test_a_bad_population_file_names_the_mapping_line_and_the_files(tmp_path, csv_text, expected):
    path = _mapping(tmp_path, FILE_SECTION)
    if csv_text is not None:
        (tmp_path / "pop.csv").write_text(csv_text, encoding="utf-8")
    mapping = load_mapping(path)
    with pytest.raises(InputError) as info:
        mapping_population(mapping)
    message = str(info.value)
    assert message.startswith(f"{path}:{_line_of(path, 'file: pop.csv')} population.file")
    assert expected in message, message


def test_a_population_file_beside_the_mapping_is_read_as_measures_reads_it(tmp_path):
    csv_path = tmp_path / "pop.csv"
    csv_path.write_text(f'age_band,population\n{OLD},"50,000"\n{YOUNG},200000\n', "utf-8")
    figures = mapping_population(load_mapping(_mapping(tmp_path, FILE_SECTION)))
    assert figures.by_band == read_population(csv_path) == {YOUNG: 200_000, OLD: 50_000}
    assert figures.source == f"{SOURCE} (2024)"


def test_measures_takes_the_file_over_the_mapping_and_says_so(tmp_path):
    mapping = load_mapping(_mapping(tmp_path, GOOD))
    csv_path = tmp_path / "other.csv"
    csv_path.write_text(f"age_band,population\n{YOUNG},1000\n{OLD},500\n", "utf-8")
    chosen, said = chosen_population(str(csv_path), mapping)
    assert chosen.by_band == {YOUNG: 1000, OLD: 500}
    assert said == f"Population: using --population {csv_path}, not the population section " + (
        f"of {mapping.path}."
    )
    assert chosen_population(None, mapping)[0].by_band == {YOUNG: 200_000, OLD: 50_000}
    assert chosen_population(str(csv_path), None)[1] == ""
    assert chosen_population(None, None) == (None, "")


def test_the_example_authoritys_population_says_it_is_illustrative():
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "mappings").glob("*.yaml")):
        section = yaml.safe_load(path.read_text(encoding="utf-8")).get("population")
        if section is not None:
            assert "illustrative" in section["source"].lower(), path
            assert "fictional" in section["source"].lower(), path


def test_cldetl_measures_takes_the_mappings_population_or_the_file_and_says_which(tmp_path):
    cld = write_rows(tmp_path / "cld.csv", [row(RESIDENTIAL)])
    mapping = _mapping(tmp_path, GOOD)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["measures", str(cld), "--mapping", str(mapping), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    by_key = {(f["measure"], f["group"]): f for f in json.loads(result.stdout)["figures"]}
    assert by_key[("ASCOF 2B", YOUNG)]["denominator"] == 200_000
    assert by_key[("ASCOF 2C", OLD)]["denominator"] == 50_000
    assert result.stderr == ""

    other = tmp_path / "other.csv"
    other.write_text(f"age_band,population\n{YOUNG},1000\n{OLD},500\n", "utf-8")
    both = ["measures", str(cld), "--mapping", str(mapping), "--population", str(other)]
    result = runner.invoke(cli, both)
    assert result.exit_code == 0, result.output
    assert f"using --population {other}, not the population section of {mapping}" in (result.stderr)
    assert "ASCOF 2C (65 and above): " in result.stdout and "/ 500 = " in result.stdout

    (tmp_path / "bad").mkdir()
    bad = _mapping(tmp_path / "bad", REFUSED[0][0])
    result = runner.invoke(cli, ["measures", str(cld), "--mapping", str(bad)])
    assert result.exit_code == 2 and "not an age band of the measures" in result.output
