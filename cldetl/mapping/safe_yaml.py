"""Bounded YAML reading for mapping files: safe_load, after a cheap pass over the event stream
that refuses what would make the loader itself the problem.

`yaml.safe_load` never runs code, but a 521-byte file of nested aliases ("billion laughs")
expands to billions of nodes, a thousand nested lists exhaust Python's recursion, and a
5,000-digit number cannot be turned into an int. PyYAML's parser is a state machine (no
recursion), so walking its events first costs little and lets each refusal name its line.
"""

from __future__ import annotations

from typing import Any

import yaml

from cldetl.errors import CldetlError

MAX_DEPTH = 40
"""Nested lists/mappings: a mapping needs about 8; far below Python's recursion limit."""
MAX_NODES = 200_000
"""Values after expanding aliases: the largest example mapping has under 10,000."""
MAX_SCALAR = 4_000
"""Characters in one value: a code, a label or a description; below Python's int limit."""


class YamlLimitError(CldetlError):
    """A YAML file beyond the loader's bounds (alias expansion, nesting depth, value size)."""


def _refuse(name: str, mark: Any, what: str, fix: str) -> YamlLimitError:
    line = f":{mark.line + 1}" if mark is not None else ""
    return YamlLimitError(f"{name}{line}: {what}. {fix}")


def check_bounds(text: str, name: str) -> None:
    """Walk the YAML events of `text` and raise YamlLimitError at the first excess.

    Expansion is counted as the loader would build it: an alias adds the size of the node its
    anchor names, so nested aliases multiply as they would in memory.
    """
    anchored: dict[str, int] = {}
    stack: list[list[Any]] = [[0, None]]  # per open collection: [size so far, anchor]
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            size = anchored.get(event.anchor, 1)
            total += size
        elif isinstance(event, yaml.ScalarEvent):
            if len(event.value) > MAX_SCALAR:
                raise _refuse(
                    name,
                    event.start_mark,
                    f"a value of {len(event.value):,} characters (at most {MAX_SCALAR:,})",
                    "A mapping holds codes, labels and column names; shorten the value.",
                )
            size = 1
            total += 1
            if event.anchor:
                anchored[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) > MAX_DEPTH:
                raise _refuse(
                    name,
                    event.start_mark,
                    f"lists or mappings nested more than {MAX_DEPTH} deep",
                    "A mapping needs far less; flatten the structure.",
                )
            stack.append([1, event.anchor])
            total += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size, anchor = stack.pop()
            if anchor:
                anchored[anchor] = size
            stack[-1][0] += size
            continue
        else:
            continue
        if isinstance(event, (yaml.AliasEvent, yaml.ScalarEvent)):
            stack[-1][0] += size
        if total > MAX_NODES:
            raise _refuse(
                name,
                event.start_mark,
                f"the document expands to more than {MAX_NODES:,} values "
                "(aliases repeat what their anchor names)",
                "Write the values out, or use fewer nested aliases.",
            )


def load(text: str, name: str) -> Any:
    """`yaml.safe_load(text)` within the bounds above; `name` (the file) is used in messages.
    Raises YamlLimitError beyond a bound and yaml.YAMLError for text that is not YAML."""
    check_bounds(text, name)
    return yaml.safe_load(text)


def compose(text: str, name: str) -> yaml.Node | None:
    """The node tree (with line marks) of `text`, within the same bounds."""
    check_bounds(text, name)
    return yaml.compose(text, Loader=yaml.SafeLoader)
