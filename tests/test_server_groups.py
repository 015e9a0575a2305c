"""`make test` runs on every CPU with pytest-xdist (`--dist loadgroup`): the tests of each
server a session starts go to one worker (tests/conftest.py), so many CPUs start one PostgreSQL
and one Prefect test server, not one each."""

from __future__ import annotations

import pytest

from tests.conftest import pytest_collection_modifyitems


class _Item:
    def __init__(self, fixtures: tuple[str, ...], markers: tuple[str, ...] = ()):
        self.fixturenames = fixtures
        self.markers = list(markers)
        self.groups: list[str] = []

    def get_closest_marker(self, name: str):
        return name if name in self.markers else None

    def add_marker(self, mark) -> None:
        assert mark.name == "xdist_group"
        self.groups.append(mark.args[0])


class _Config:
    def __init__(self, xdist: bool):
        self.pluginmanager = self
        self.xdist = xdist

    def hasplugin(self, name: str) -> bool:
        return self.xdist and name == "xdist"


CASES = [
    ("a PostgreSQL test by its fixture", ("tmp_path", "postgres_server"), (), ["postgres"]),
    ("a PostgreSQL test by its marker", ("tmp_path",), ("postgres",), ["postgres"]),
    ("a flow test", ("prefect_server", "qr"), (), ["prefect"]),
    ("a test with no server", ("tmp_path",), ("slow",), []),
]


@pytest.mark.parametrize(("fixtures", "markers", "groups"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_each_servers_tests_are_one_group(fixtures, markers, groups):
    item = _Item(fixtures, markers)
    pytest_collection_modifyitems(_Config(xdist=True), [item])
    assert item.groups == groups


def test_without_xdist_no_group_is_added():
    """Run with `-p no:xdist`, the xdist_group marker is not registered (--strict-markers)."""
    item = _Item(("postgres_server",))
    pytest_collection_modifyitems(_Config(xdist=False), [item])
    assert item.groups == []
