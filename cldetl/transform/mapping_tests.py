"""`test_mapping`: run the tests an LA writes inside its mapping file.

A test gives a few source rows and the CLD rows it expects (only the fields it names are
compared) and, optionally, records it expects excluded. Sources a test does not mention are
empty. Expected rows are matched as a multiset: every output row must be expected and every
expected row produced, so a test also catches rows that should not be there; a test with no
`expect` rows expects the transform to produce none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from cldetl.errors import CldetlError
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping, MappingTest


@dataclass
class MappingTestResult:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)


def _frames_for(mapping: Mapping, test: MappingTest) -> dict[str, pd.DataFrame]:

    frames = {}
    for name, source in mapping.sources.items():
        rows = test.given.get(name, [])
        frame = pd.DataFrame(rows, columns=list(source.columns))
        frames[name] = frame
    return frames


def _compare_rows(cld: pd.DataFrame, expect: list[dict]) -> list[str]:
    """Each expected row must match a distinct output row on the fields it lists, and every
    output row must be matched. The most specific expectations are matched first. An empty
    `expect` means the test expects no output rows at all (a test of exclusions too: a record
    it expects excluded must not also give a row)."""

    problems = []
    free = pd.Series(True, index=cld.index)
    for wanted in sorted(expect, key=len, reverse=True):
        mask = free.copy()
        for name, value in wanted.items():
            mask &= cld[name].astype(str).eq(str(value))
        if mask.any():
            free[mask.idxmax()] = False
        else:
            problems.append(f"expected but not produced: {wanted}")
    shown = list(dict.fromkeys(f for row in expect for f in row)) or list(cld.columns[23:29])
    for index in free[free].index:
        row = {f: cld.at[index, f] for f in shown}
        problems.append(f"produced but not expected: {row}")
    return problems


def run_mapping_test(mapping: Mapping, test: MappingTest) -> MappingTestResult:
    """Run one test; problems say what differed, in CLD field terms."""

    period = ReportingPeriod.ending(test.period_end, mapping.metadata.cadence)
    try:
        result = transform(mapping, _frames_for(mapping, test), period)
    except CldetlError as exc:
        return MappingTestResult(test.name, False, [f"the transform failed: {exc}"])
    problems = _compare_rows(result.cld.fillna(""), test.expect)
    exclusions = result.exclusions.fillna("")
    for wanted in test.expect_excluded:
        mask = exclusions.index == exclusions.index
        for key, value in wanted.items():
            column = "reason" if key == "reason" else key
            if column not in exclusions:
                problems.append(f"expect_excluded: unknown key '{key}' (use {list(exclusions)})")
                mask &= False
                continue
            values = exclusions[column].astype(str)
            mask &= (
                values.str.contains(value, regex=False)
                if key == "reason"
                else values.eq(str(value))
            )
        if not mask.any():
            problems.append(f"expected an exclusion matching {wanted}; none found")
    return MappingTestResult(test.name, not problems, problems)


def run_mapping_tests(mapping: Mapping) -> list[MappingTestResult]:
    return [run_mapping_test(mapping, test) for test in mapping.tests]
