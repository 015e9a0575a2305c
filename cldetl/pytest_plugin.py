"""pytest collects the tests written inside mapping files (`mappings/*.yaml`), so an LA's own
expectations run with the rest of the suite: `pytest mappings/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cldetl.mapping import load_mapping
from cldetl.transform.mapping_tests import run_mapping_test


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    """Mapping files in the project's own `mappings/` folder (not test fixtures elsewhere)."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if file_path.parent != Path(parent.config.rootpath) / "mappings":
        return None
    return MappingFile.from_parent(parent, path=file_path)


class MappingFile(pytest.File):
    def collect(self):

        mapping = load_mapping(self.path)
        for test in mapping.tests:
            yield MappingTestItem.from_parent(self, name=test.name, mapping=mapping, test=test)


class MappingTestItem(pytest.Item):
    def __init__(self, *, mapping, test, **kwargs):
        super().__init__(**kwargs)
        self.mapping = mapping
        self.test = test

    def runtest(self) -> None:

        result = run_mapping_test(self.mapping, self.test)
        if not result.passed:
            raise MappingTestFailure(result.problems)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MappingTestFailure):
            return "\n".join(excinfo.value.problems)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"mapping test: {self.name}"


class MappingTestFailure(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems
