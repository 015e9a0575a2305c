"""The whole-file steps allocate Arrow's buffers from the system allocator (national/allocator.py),
so memory pandas frees can serve Arrow and the other way round; validate and everything after
keep the pool they had. The peak it saves is measured in benchmarks/national.py, not here."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cldetl.national import preview as preview_module_function
from cldetl.national.allocator import one_allocator
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import write_rows
from tests.test_national_waiting_times import PERIOD, POPULATION

SYSTEM = pa.system_memory_pool().backend_name


def test_inside_the_block_arrow_allocates_from_the_system_allocator_and_after_it_as_before():
    before = pa.default_memory_pool().backend_name
    with one_allocator():
        assert pa.default_memory_pool().backend_name == SYSTEM
        buffer = pa.array(["kept past the block"] * 3)
    assert pa.default_memory_pool().backend_name == before
    assert buffer.to_pylist() == ["kept past the block"] * 3  # freed by the pool it came from


def test_an_error_inside_the_block_restores_the_pool():
    before = pa.default_memory_pool().backend_name
    with pytest.raises(ValueError):
        with one_allocator():
            raise ValueError("a step failed")
    assert pa.default_memory_pool().backend_name == before


@pytest.fixture
def small_file(tmp_path):
    return write_rows(tmp_path / "cld.csv", [dict(r) for r in POPULATION])


def test_the_preview_and_measures_whole_file_steps_run_on_the_system_allocator(
    small_file, monkeypatch
):
    import sys

    preview_module = sys.modules["cldetl.national.preview"]
    measures_module = sys.modules["cldetl.national.measures"]
    seen: dict[str, str] = {}

    def spy(name, module, attribute):
        real = getattr(module, attribute)

        def recorded(*args, **kwargs):
            seen[name] = pa.default_memory_pool().backend_name
            return real(*args, **kwargs)

        monkeypatch.setattr(module, attribute, recorded)

    spy("unique events", preview_module, "unique_events")
    spy("ASCOF 2A", measures_module, "ascof_2a")
    before = pa.default_memory_pool().backend_name
    table = read_cld_csv(small_file)
    previewed = preview_module_function(table, validate(table), reference=PERIOD)
    assert pa.default_memory_pool().backend_name == before
    measures_module.measures(previewed)
    assert seen == {"unique events": SYSTEM, "ASCOF 2A": SYSTEM}
    assert pa.default_memory_pool().backend_name == before


def test_memory_is_given_back_after_each_whole_file_step(small_file, monkeypatch):
    """One give_back after each whole-file step: joining the batches, the period, the period
    filter, taking the unique events' fields, the unique events, the fates, the warnings (the
    peak it saves is in benchmarks/national.py)."""
    import sys

    preview_module = sys.modules["cldetl.national.preview"]
    calls: list[int] = []
    monkeypatch.setattr(preview_module, "give_back", lambda: calls.append(1) or True)
    table = read_cld_csv(small_file)
    preview_module_function(table, validate(table), reference=PERIOD)
    assert len(calls) == 7


def test_the_measures_give_memory_back_after_the_person_details_and_each_family(
    small_file, monkeypatch
):
    """The measures' working copies go back to the system after the person details and after
    each ASCOF family, before the next one allocates its own."""
    import sys

    measures_module = sys.modules["cldetl.national.measures"]
    table = read_cld_csv(small_file)
    previewed = preview_module_function(table, validate(table), reference=PERIOD)
    steps: list[str] = []
    monkeypatch.setattr(measures_module, "give_back", lambda: steps.append("give back") or True)
    for name in ("with_person_details", "ascof_2a", "ascof_2bc", "ascof_2e", "ascof_3d"):
        real = getattr(measures_module, name)

        def recorded(*args, _real=real, _name=name, **kwargs):
            steps.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(measures_module, name, recorded)
    measures_module.measures(previewed)
    assert steps == [
        "with_person_details", "give back", "ascof_2a", "give back", "ascof_2bc", "give back",
        "ascof_2e", "give back", "ascof_3d", "give back",
    ]  # fmt: skip


def test_give_back_and_the_arenas_ask_glibc_only(monkeypatch):
    from cldetl.national import allocator

    if allocator._glibc() is not None:
        assert allocator.give_back() is True
        assert allocator.two_malloc_arenas() is True
    monkeypatch.setattr(allocator, "_glibc", lambda: None)  # macOS, Windows, musl
    assert allocator.give_back() is False
    assert allocator.two_malloc_arenas() is False


def test_give_back_and_the_arenas_ask_glibc_the_documented_calls(monkeypatch):
    """give_back is malloc_trim(0) (pad 0: give back every free page at the top and inside the
    heap); two_malloc_arenas is mallopt(M_ARENA_MAX, 2), M_ARENA_MAX being -8 in glibc's
    malloc.h. A wrong option number or value would be ignored or change another setting,
    silently: only the memory would show it."""
    from cldetl.national import allocator

    calls: list[tuple] = []

    class Glibc:
        def malloc_trim(self, *args):
            calls.append(("malloc_trim", *args))
            return 1

        def mallopt(self, *args):
            calls.append(("mallopt", *args))
            return 1

    monkeypatch.setattr(allocator, "_glibc", lambda: Glibc())
    assert allocator.give_back() is True
    assert allocator.two_malloc_arenas() is True
    assert allocator.large_blocks_mapped() is True
    # M_MMAP_THRESHOLD is -3 in malloc.h; blocks of 1 MiB and more mapped on their own.
    assert calls == [("malloc_trim", 0), ("mallopt", -8, 2), ("mallopt", -3, 1 << 20)]


def test_large_blocks_mapped_asks_glibc_only(monkeypatch):
    from cldetl.national import allocator

    monkeypatch.setattr(allocator, "_glibc", lambda: None)  # macOS, Windows, musl
    assert allocator.large_blocks_mapped() is False


@pytest.mark.parametrize("command", ["measures", "preview", "validate --report"])
def test_the_commands_that_preview_a_file_map_large_blocks_before_reading_it(
    tmp_path, monkeypatch, command
):
    """Set in the process before the file is read (validate's workers are forked from it and
    keep it), by each command that runs the whole-file steps; plain `validate` does not."""
    from click.testing import CliRunner

    from cldetl.cli import check
    from tests.conftest import row, write_rows

    steps: list[str] = []
    monkeypatch.setattr(check, "large_blocks_mapped", lambda: steps.append("mapped") or True)
    real = check.validate_and_preview

    def spy(*args, **kwargs):
        steps.append("read")
        return real(*args, **kwargs)

    monkeypatch.setattr(check, "validate_and_preview", spy)
    path = str(write_rows(tmp_path / "cld.csv", [row()]))
    name, *options = command.split()
    if options:
        options = [options[0], str(tmp_path / "report")]
    CliRunner().invoke(check.__dict__[name], [path, *options])
    assert steps == ["mapped", "read"]
