"""The bounded Jinja sandbox templates render in: only the connectors folders' files, undefined
names an error, a few text filters, and bounds on ranges, text size, loop steps and time.

A template arranges a page of SQL, never more: going past a bound is a `RenderLimit` naming
it, never a hang or a MemoryError.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from cldetl.errors import CldetlError
from cldetl.mapping.template_declarations import find_template

MAX_SQL_CHARS = 1_000_000
MAX_LOOP_STEPS = 100_000
MAX_RENDER_SECONDS = 5.0
MAX_POWER = 64
SAFE_FILTERS = (
    "join",
    "lower",
    "upper",
    "trim",
    "length",
    "list",
    "first",
    "last",
    "default",
    "int",
    "string",
    "replace",
    "e",
)


class RenderLimit(CldetlError):
    """A template went past a rendering bound (text size, loop steps, time, recursion)."""


class _Budget:
    """The loop steps and time one rendering may use."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def tick(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_LOOP_STEPS:
            raise RenderLimit(f"more than {MAX_LOOP_STEPS:,} loop steps")
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"rendering took more than {MAX_RENDER_SECONDS:g} seconds")

    def size(self, value: Any) -> Any:
        if isinstance(value, str | list | tuple) and len(value) > MAX_SQL_CHARS:
            raise RenderLimit(f"a value of more than {MAX_SQL_CHARS:,} characters or items")
        return value


class _FolderLoader(jinja2.BaseLoader):
    """Templates from the folders in order; a path leaving its folder is refused
    (`find_template` raises TemplateOutsideFolder)."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    def get_source(self, environment, template):
        path = find_template(self.folders, template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), str(path), lambda: True


class _Bounded(SandboxedEnvironment):
    """The sandbox with every operator and call counted against the budget, and products
    and powers that would build huge values refused before they are computed."""

    intercepted_binops = frozenset({"*", "**", "+", "//", "%"})

    def __init__(self, budget: _Budget, **options: Any) -> None:
        super().__init__(**options)
        self.budget = budget

    def call_binop(self, context, operator, left, right):
        self.budget.tick()
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise RenderLimit(f"a power above {MAX_POWER}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_SQL_CHARS:
                        raise RenderLimit(f"text of more than {MAX_SQL_CHARS:,} characters")
        return self.budget.size(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        __self.budget.tick()
        return __self.budget.size(super().call(__context, __obj, *args, **kwargs))


def environment(folders: list[Path]) -> jinja2.Environment:
    """The sandbox for one rendering: only the loader's files, StrictUndefined, the filters in
    SAFE_FILTERS and a bounded `range`, within one budget of loop steps and time."""

    budget = _Budget()
    env = _Bounded(
        budget,
        loader=_FolderLoader(folders),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def bounded_range(*args: int):
        steps = range(*args)
        if len(steps) > MAX_LOOP_STEPS:
            raise RenderLimit(f"a range of more than {MAX_LOOP_STEPS:,} steps")
        for step in steps:
            budget.tick()
            yield step

    def bounded_filter(function):
        @functools.wraps(function)  # keeps Jinja's pass_environment marks
        def run(*args, **kwargs):
            budget.tick()
            return budget.size(function(*args, **kwargs))

        return run

    env.globals = {"range": bounded_range}
    env.filters = {n: bounded_filter(env.filters[n]) for n in SAFE_FILTERS}
    env.tests = dict(env.tests)
    return env


def bounded_text(parts: Iterable[str]) -> str:
    """The text a template's `generate()` streams, stopping as soon as it passes
    MAX_SQL_CHARS (a template is never rendered whole before its size is known)."""
    kept, size = [], 0
    for part in parts:
        size += len(part)
        if size > MAX_SQL_CHARS:
            raise RenderLimit(f"more than {MAX_SQL_CHARS:,} characters of SQL")
        kept.append(part)
    return "".join(kept)


def render_template(env: jinja2.Environment, template: str, context: dict) -> str:
    """A template file of the connectors folders, rendered within the bounds."""
    return bounded_text(env.get_template(template).generate(context))


def render_fragment(env: jinja2.Environment, text: str, context: dict) -> str:
    """A declaration's SQL fragment (a left_out condition), rendered like the template."""
    return bounded_text(env.from_string(text).generate(context))
